"""Sliding-window rate limit: X-RateLimit-* on every API answer, 429 with Retry-After."""

from __future__ import annotations

import httpx

from maxupload.sandbox import SandboxServer
from tests.sandbox.conftest import jpeg_bytes, make_client, plain, upload


def test_headers_on_every_api_answer_including_errors(
    sandbox: SandboxServer, api: httpx.Client, client_for
) -> None:
    answers = [
        api.get("/notes"),
        api.get("/notes/nte_" + "0" * 32),
        upload(api, sandbox.demo.signed_note_id, sandbox.demo.provider_id, jpeg_bytes()),
        client_for("max_dev_ak_bad", sandbox.demo.org_id).get("/patients"),
    ]
    assert [r.status_code for r in answers] == [200, 404, 409, 401]
    remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in answers]
    assert remaining == [999, 998, 997, 996]
    for r in answers:
        assert r.headers["X-RateLimit-Limit"] == "1000"
        assert int(r.headers["X-RateLimit-Reset"]) >= int(sandbox.clock.now())
        assert "Retry-After" not in r.headers


def test_429_after_the_limit_with_retry_after(make_sandbox) -> None:
    srv = make_sandbox(rate_limit=3, rate_window_s=30)
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        ok = [client.get("/providers") for _ in range(3)]
        assert [r.status_code for r in ok] == [200, 200, 200]
        r = client.get("/providers")
        assert r.status_code == 429
        body = r.json()
        assert body["code"] == "rate_limit_exceeded"
        assert body["message"] == "Rate limit exceeded. Maximum 3 requests per 30 seconds."
        assert body["trace_id"]
        retry_after = int(r.headers["Retry-After"])
        assert 1 <= retry_after <= 30
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert r.headers["X-RateLimit-Limit"] == "3"
        # A refused request does not use up the window; sliding past it frees a slot.
        srv.advance_clock(retry_after)
        assert client.get("/providers").status_code == 200


def test_window_slides_request_by_request(make_sandbox) -> None:
    srv = make_sandbox(rate_limit=2, rate_window_s=10)
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        assert client.get("/notes").status_code == 200
        srv.advance_clock(6)
        assert client.get("/notes").status_code == 200
        assert client.get("/notes").status_code == 429
        srv.advance_clock(4.5)  # the first request left the window, the second has not
        r = client.get("/notes")
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Remaining"] == "0"
        assert client.get("/notes").status_code == 429


def test_control_and_s3_requests_are_not_limited(make_sandbox) -> None:
    srv = make_sandbox(rate_limit=1)
    with make_client(srv, srv.demo.api_key, srv.demo.org_id) as client:
        r = upload(client, srv.demo.open_note_id, srv.demo.provider_id, jpeg_bytes())
        assert r.status_code == 200
        image_id = r.json()["data"]["id"]
        for _ in range(3):
            assert plain.get(srv.root_url + "/_sandbox/uploads").status_code == 200
        assert (
            client.get(f"/notes/{srv.demo.open_note_id}/images/{image_id}/url").status_code == 429
        )
        srv.reset()  # clears the window too
        url = client.get(f"/notes/{srv.demo.open_note_id}/images/{image_id}/url")
        assert url.status_code == 404  # the upload was forgotten by reset
