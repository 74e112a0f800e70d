"""Control endpoints and the request log: what tests use to see exactly what arrived."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import jpeg_bytes, plain, upload

REPO = Path(__file__).resolve().parents[2]
COPY = REPO / "maxupload" / "sandbox" / "contract" / "openapi.yaml"
SHARED = REPO.parent / "shared" / "api" / "openapi.yaml"


def test_contract_copy_matches_the_shared_contract() -> None:
    if not SHARED.exists():
        pytest.skip(f"shared contract not found at {SHARED} (only present in the team workspace)")
    assert COPY.read_bytes() == SHARED.read_bytes(), (
        "maxupload/sandbox/contract/openapi.yaml differs from ../shared/api/openapi.yaml; "
        "copy the shared file and update the sandbox to match"
    )


def test_contract_is_served(sandbox: SandboxServer) -> None:
    r = plain.get(sandbox.root_url + "/openapi.yaml")
    assert r.status_code == 200
    assert r.content == COPY.read_bytes()


def test_uploads_endpoint_matches_the_python_view(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, jpeg_bytes())
    served = plain.get(sandbox.root_url + "/_sandbox/uploads").json()["uploads"]
    assert served == sandbox.uploads()
    assert set(served[0]) >= {
        "id", "noteId", "providerId", "orgId", "sha256", "size",
        "mimeType", "fileName", "status", "receivedAt",
    }  # fmt: skip


def test_request_log_never_holds_a_key(sandbox: SandboxServer, api: httpx.Client) -> None:
    upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, jpeg_bytes())
    api.get("/notes", params={"pageSize": 2})
    plain.get(sandbox.root_url + "/v3/notes", headers={"Authorization": "Bearer max_dev_ak_zz"})
    served = plain.get(sandbox.root_url + "/_sandbox/requests")
    log = served.json()["requests"]
    assert log == sandbox.request_log()
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("POST", f"/v3/notes/{sandbox.demo.open_note_id}/images", 200),
        ("GET", "/v3/notes", 200),
        ("GET", "/v3/notes", 401),
    ]
    assert log[0]["query"] == {"providerId": sandbox.demo.provider_id}
    assert log[1]["query"] == {"pageSize": "2"}
    assert [e["key"] for e in log] == ["demo", "demo", "invalid"]
    assert log[0]["traceId"] == sandbox.uploads()[0]["traceId"]
    assert all(e["time"].endswith("Z") for e in log)
    text = served.text
    for secret in (sandbox.demo.api_key, "max_dev_ak_zz", "Bearer"):
        assert secret not in text
    assert "authorization" not in {k.lower() for e in log for k in e}


def test_attempts_count_repeats_of_the_same_request(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    for _ in range(3):
        api.get(f"/notes/{sandbox.demo.open_note_id}")
    api.get("/notes")
    assert [e["attempt"] for e in sandbox.request_log()] == [1, 2, 3, 1]


def test_reset_forgets_uploads_and_log(sandbox: SandboxServer, api: httpx.Client) -> None:
    upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, jpeg_bytes())
    sandbox.reset()
    assert sandbox.uploads() == [] and sandbox.request_log() == []
    assert api.get("/notes").headers["X-RateLimit-Remaining"] == "999"


def test_demo_summary_has_ids_but_no_keys(sandbox: SandboxServer) -> None:
    r = plain.get(sandbox.root_url + "/_sandbox/demo")
    assert r.json()["openNoteId"] == sandbox.demo.open_note_id
    assert "max_dev_ak_" not in r.text and "max_prd_ak_" not in r.text


def test_unknown_control_endpoint_is_404(sandbox: SandboxServer) -> None:
    assert plain.get(sandbox.root_url + "/_sandbox/nothing").status_code == 404
    assert plain.post(sandbox.root_url + "/_sandbox/faults", content=b"{").status_code == 400


def test_clock_endpoint_moves_time(sandbox: SandboxServer) -> None:
    before = sandbox.clock.now()
    plain.post(sandbox.root_url + "/_sandbox/clock", json={"advance_s": 120})
    assert sandbox.clock.now() - before >= 120
