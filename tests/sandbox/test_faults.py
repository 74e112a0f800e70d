"""Injected faults: each hits exactly the requests it should, and the log says which."""

from __future__ import annotations

import httpx
import pytest

from maxupload.sandbox import Faults, SandboxServer
from tests.sandbox.conftest import jpeg_bytes, make_client, plain, upload


def _send(srv: SandboxServer, client: httpx.Client) -> httpx.Response:
    return upload(client, srv.demo.open_note_id, srv.demo.provider_id, jpeg_bytes())


def test_ehr_fail_is_502_and_keeps_the_image_pending(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    sandbox.set_faults(ehr_fail=1)
    r = _send(sandbox, api)
    assert r.status_code == 502
    body = r.json()
    assert body["code"] == "unexpected_integration_error"
    assert body["message"] == "EHR sync failed"
    [stored] = sandbox.uploads()
    assert stored["status"] == "pending_upload"
    assert stored["traceId"] == body["trace_id"]
    assert _send(sandbox, api).status_code == 200  # the count is used up
    assert [u["status"] for u in sandbox.uploads()] == ["pending_upload", "synced"]
    faults = [e["fault"] for e in sandbox.request_log()]
    assert faults == ["ehr_fail", None]


def test_error_500_hits_uploads_only_by_default(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(error_500=2)
    assert api.get("/notes").status_code == 200
    for _ in range(2):
        r = _send(sandbox, api)
        assert r.status_code == 500
        assert r.json()["code"] == "internal_error"
        assert "X-RateLimit-Remaining" in r.headers
    assert _send(sandbox, api).status_code == 200
    assert len(sandbox.uploads()) == 1


def test_paths_and_methods_filter(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(error_500=-1, paths=["/v3/notes/*"], methods=["GET"])
    assert api.get(f"/notes/{sandbox.demo.open_note_id}").status_code == 500
    assert api.get(f"/notes/{sandbox.demo.open_note_id}").status_code == 500  # -1: every time
    assert api.get("/notes").status_code == 200  # pattern needs a segment after /notes/
    assert api.get("/providers").status_code == 200
    assert _send(sandbox, api).status_code == 200  # POST is filtered out


def test_latency_delays_the_answer_after_storing(sandbox: SandboxServer) -> None:
    sandbox.set_faults(latency_ms=3000)
    with (
        make_client(sandbox, sandbox.demo.api_key, sandbox.demo.org_id) as client,
        pytest.raises(httpx.ReadTimeout),
    ):
        client.post(
            f"/notes/{sandbox.demo.open_note_id}/images",
            params={"providerId": sandbox.demo.provider_id},
            files={"file": ("a.jpg", jpeg_bytes(), "image/jpeg")},
            timeout=httpx.Timeout(10, read=0.3),
        )
    # The request was sent and processed: a copy exists although the client timed out.
    assert len(sandbox.uploads()) == 1
    [entry] = sandbox.request_log()
    assert entry["fault"] == "latency"


def test_drop_connection_processes_then_hangs_up(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(drop_connection=1)
    data = jpeg_bytes()
    with pytest.raises(httpx.RemoteProtocolError):
        upload(api, sandbox.demo.open_note_id, sandbox.demo.provider_id, data)
    [entry] = sandbox.request_log()
    assert entry["fault"] == "drop_connection"
    assert entry["status"] is None
    assert entry["processedStatus"] == 200
    assert entry["answered"] is False
    assert entry["bodyBytes"] == int(entry["contentLength"])
    assert len(sandbox.uploads()) == 1  # the answer was lost, not the upload
    assert _send(sandbox, api).status_code == 200
    assert len(sandbox.uploads()) == 2


def test_drop_before_read_stores_nothing_and_a_retry_works(
    sandbox: SandboxServer, api: httpx.Client
) -> None:
    sandbox.set_faults(drop_before_read=1)
    with pytest.raises(httpx.TransportError):
        _send(sandbox, api)
    assert sandbox.uploads() == []
    [entry] = sandbox.request_log()
    assert entry["fault"] == "drop_before_read"
    assert entry["bodyBytes"] is None
    assert entry["status"] is None
    assert _send(sandbox, api).status_code == 200
    assert sandbox.request_log()[-1]["attempt"] == 2


def test_rate_limit_burst_hits_any_api_request(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(rate_limit_burst=2, retry_after_s=3)
    for _ in range(2):
        r = api.get("/patients")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "3"
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.json()["code"] == "rate_limit_exceeded"
    assert api.get("/patients").status_code == 200
    assert [e["fault"] for e in sandbox.request_log()] == ["rate_limit_burst"] * 2 + [None]


def test_faults_given_at_start(make_sandbox) -> None:
    srv = make_sandbox(faults=Faults(ehr_fail=1, rate_limit_burst=1))
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        assert _send(srv, client).status_code == 429
        assert _send(srv, client).status_code == 502
        assert _send(srv, client).status_code == 200


def test_faults_over_http_control_endpoint(sandbox: SandboxServer, api: httpx.Client) -> None:
    url = sandbox.root_url + "/_sandbox/faults"
    r = plain.post(url, json={"error_500": 1, "latency_ms": 0})
    assert r.status_code == 200
    assert r.json()["faults"]["error_500"] == 1
    assert plain.get(url).json()["faults"]["error_500"] == 1
    assert _send(sandbox, api).status_code == 500
    assert plain.get(url).json()["faults"]["error_500"] == 0
    bad = plain.post(url, json={"no_such_fault": 1})
    assert bad.status_code == 400
    assert "no_such_fault" in bad.json()["error"]
    assert plain.post(url, json={"error_500": "lots"}).status_code == 400
    assert plain.post(url, json={"ehr_fail": True}).json()["faults"]["ehr_fail"] == -1


def test_reset_clears_faults(sandbox: SandboxServer, api: httpx.Client) -> None:
    sandbox.set_faults(error_500=-1)
    assert plain.post(sandbox.root_url + "/_sandbox/reset").json() == {"ok": True}
    assert _send(sandbox, api).status_code == 200


def test_signed_url_fetch_can_fail_once(sandbox: SandboxServer, api: httpx.Client) -> None:
    r = _send(sandbox, api)
    image_id = r.json()["data"]["id"]
    url = api.get(f"/notes/{sandbox.demo.open_note_id}/images/{image_id}/url").json()["data"]["url"]
    sandbox.set_faults(error_500=1, paths=["/_s3/*"])
    assert plain.get(url).status_code == 500
    assert plain.get(url).status_code == 200
    s3 = [e for e in sandbox.request_log() if e["path"].startswith("/_s3/")]
    assert [(e["status"], e["fault"]) for e in s3] == [(500, "error_500"), (200, None)]


def test_fault_filter_must_be_a_list(sandbox: SandboxServer) -> None:
    r = plain.post(sandbox.root_url + "/_sandbox/faults", json={"paths": "/v3/*"})
    assert r.status_code == 400
    assert "'paths' must be a list" in r.json()["error"]
