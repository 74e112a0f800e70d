"""The sandbox against the API contract, checked by an OpenAPI fuzzer (Schemathesis): generated
requests for every operation in ``openapi.yaml``, valid and invalid, sent to the in-process
sandbox over loopback; every answer must match the contract (status codes, bodies, headers),
undeclared methods answer 405. Bounded so the run stays well under a minute."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib import resources

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from maxupload.sandbox import SandboxServer  # noqa: E402

CONTRACT = resources.files("maxupload.sandbox").joinpath("contract/openapi.yaml")
schema = schemathesis.openapi.from_path(str(CONTRACT))
# The contract does not say that unknown query parameters are refused (the API ignores them),
# and the key is ours to send: the fuzzer varies everything else, valid and invalid.
schema.config.generation.update(
    allow_extra_parameters=False, with_security_parameters=False, deterministic=True
)


@schema.hook
def filter_query(context: object, query: dict[str, object] | None) -> bool:
    """The contract requires providerId and documents only the missing case; an empty one is
    refused the same way ("'providerId' is required"), so it is not sent as a valid value."""
    return not query or query.get("providerId") != ""


@pytest.fixture(scope="module")
def fuzz_target() -> Iterator[SandboxServer]:
    """One sandbox for the whole run, with a rate limit the fuzzer cannot reach."""
    from maxupload.sandbox import SandboxConfig

    srv = SandboxServer(SandboxConfig(rate_limit=1_000_000))
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def auth(fuzz_target: SandboxServer) -> Callable[[object], dict[str, str]]:
    """The demo key, and the demo clinic unless the case tests a bad header on purpose."""

    def headers(case: object) -> dict[str, str]:
        from schemathesis.core.parameters import ParameterLocation

        demo = fuzz_target.demo
        sent = {"Authorization": f"Bearer {demo.api_key}"}
        meta = getattr(case, "_meta", None)
        if meta is None or not meta.is_negative_at(ParameterLocation.HEADER):
            sent["X-Organization-Id"] = demo.org_id
        return sent

    return headers


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_sandbox_keeps_the_contract(
    case: object, fuzz_target: SandboxServer, auth: Callable[[object], dict[str, str]]
) -> None:
    call = case.call_and_validate  # type: ignore[attr-defined]
    call(base_url=fuzz_target.base_url, headers=auth(case))


@pytest.mark.parametrize("method", ["TRACE", "OPTIONS", "PUT", "QUERY"])
def test_undeclared_methods_answer_405_with_allow(fuzz_target: SandboxServer, method: str) -> None:
    import httpx

    demo = fuzz_target.demo
    headers = {"Authorization": f"Bearer {demo.api_key}", "X-Organization-Id": demo.org_id}
    url = f"{fuzz_target.base_url}/notes/{demo.open_note_id}"
    answer = httpx.request(method, url, headers=headers)
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET"


@pytest.mark.parametrize("value", ["null", "1", "0", "", "TRUE", "yes"])
def test_booleans_are_strict(fuzz_target: SandboxServer, value: str) -> None:
    import httpx

    demo = fuzz_target.demo
    headers = {"Authorization": f"Bearer {demo.api_key}", "X-Organization-Id": demo.org_id}
    answer = httpx.get(
        f"{fuzz_target.base_url}/notes", params={"includeSoapNote": value}, headers=headers
    )
    assert answer.status_code == 400
    assert "includeSoapNote" in answer.json()["message"]
    ok = httpx.get(
        f"{fuzz_target.base_url}/notes", params={"includeSoapNote": "true"}, headers=headers
    )
    assert ok.status_code == 200
