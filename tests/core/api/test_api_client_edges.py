"""Answers the sandbox never gives but real networks do: gateway pages, unknown codes, bad bodies.

A tiny HTTP server on loopback plays back canned answers; the client under test is the real one.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from maxupload.core.api.client import ApiClient, RetryPolicy
from maxupload.core.api.errors import (
    ApiError,
    AuthError,
    EhrSyncFailed,
    NoteLocked,
    RateLimited,
    ScopeError,
    ServerError,
    UploadOutcomeUnknown,
)
from maxupload.core.api.ratelimit import RateGate
from maxupload.core.system.logsetup import REDACTED
from tests.plugins.contract import FAST_RETRIES, LeakGuard

KEY = "max_dev_ak_" + "c0ffee" * 5 + "42"
ORG = "7e2c8cfe-b7a9-4deb-986d-e7012589e72b"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


@dataclass
class Canned:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def error_body(code: str, message: str, trace_id: str = "trace-1") -> bytes:
    return json.dumps({"code": code, "message": message, "trace_id": trace_id}).encode()


class CannedServer:
    """Plays back answers in order (the last one repeats) and records what arrived."""

    def __init__(self, *answers: Canned) -> None:
        self.answers = list(answers)
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                server.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "authorization": self.headers.get("Authorization"),
                        "body": body,
                    }
                )
                answer = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = _answer
            do_POST = _answer

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v3"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def canned(leak_guard: LeakGuard) -> Iterator[Any]:
    leak_guard.watch(KEY)
    servers: list[CannedServer] = []
    clients: list[ApiClient] = []

    def make(*answers: Canned, **client_kw: Any) -> tuple[CannedServer, ApiClient]:
        server = CannedServer(*answers)
        servers.append(server)
        client_kw.setdefault("retry_policy", FAST_RETRIES)
        client = ApiClient(server.base_url, KEY, ORG, **client_kw)
        clients.append(client)
        return server, client

    yield make
    for client in clients:
        client.close()
    for server in servers:
        server.stop()


class FakeTime:
    """A time source for the RateGate that records each wait instead of sleeping it."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.elapsed

    def wall(self) -> float:
        return time.time() + self.elapsed

    def sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        self.sleeps.append(seconds)
        self.elapsed += seconds


def fake_gate() -> tuple[RateGate, FakeTime]:
    fake = FakeTime()
    return RateGate(clock=fake.monotonic, wall=fake.wall, sleep=fake.sleep), fake


NOTE = json.dumps({"code": "success", "data": {"id": "nte_1", "status": "awaiting_sign"}}).encode()
IMAGE = json.dumps(
    {
        "code": "success",
        "data": {
            "id": "img_1",
            "fileName": "p.jpg",
            "mimeType": "image/jpeg",
            "sizeKb": 1,
            "status": "synced",
        },
    }
).encode()


# -- error bodies ---------------------------------------------------------------------------


def test_gateway_html_page_is_a_clear_server_error(canned: Any, leak_guard: LeakGuard) -> None:
    page = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
    server, client = canned(Canned(503, page, "text/html"), max_retries=2)
    with pytest.raises(ServerError) as caught:
        client.get_note("nte_1")
    error = caught.value
    assert error.status == 503
    assert error.trace_id is None
    assert "HTTP 503" in str(error) and "text/html" in str(error)
    assert "<html>" not in str(error)
    assert len(server.requests) == 3  # a read is retried
    leak_guard.check_exception(error)


def test_plain_text_401_is_an_auth_error(canned: Any) -> None:
    server, client = canned(Canned(401, b"Unauthorized", "text/plain"))
    with pytest.raises(AuthError) as caught:
        client.get_note("nte_1")
    assert caught.value.code == "unauthorized"
    assert "HTTP 401" in str(caught.value)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "cls"),
    [(409, NoteLocked), (403, ScopeError), (418, ApiError), (502, EhrSyncFailed)],
)
def test_unknown_codes_are_decided_by_status(canned: Any, status: int, cls: type) -> None:
    _, client = canned(Canned(status, error_body("brand_new_code", "Something new", "t-9")))
    with pytest.raises(cls) as caught:
        client.upload_image("nte_1", "prv_1", JPEG, "p.jpg", "image/jpeg")
    assert type(caught.value) is cls
    assert caught.value.code == "brand_new_code"
    assert caught.value.message == "Something new"
    assert caught.value.trace_id == "t-9"
    assert caught.value.status == status


def test_gateway_502_page_on_upload_is_ehr_sync_failed_not_retried(canned: Any) -> None:
    server, client = canned(Canned(502, b"<html>Bad Gateway</html>", "text/html"))
    with pytest.raises(EhrSyncFailed) as caught:
        client.upload_image("nte_1", "prv_1", JPEG, "p.jpg", "image/jpeg")
    assert caught.value.copy_may_exist
    assert "HTTP 502" in str(caught.value)
    assert len(server.requests) == 1


def test_413_says_the_file_is_too_large(canned: Any) -> None:
    _, client = canned(Canned(413, b"Request Entity Too Large", "text/plain"))
    with pytest.raises(ApiError) as caught:
        client.upload_image("nte_1", "prv_1", JPEG, "p.jpg", "image/jpeg")
    assert caught.value.status == 413
    assert "too large" in str(caught.value)


def test_a_key_echoed_by_the_server_is_hidden(canned: Any, leak_guard: LeakGuard) -> None:
    echo = error_body("unauthorized", f"Invalid API key {KEY} (Bearer {KEY})")
    _, client = canned(Canned(401, echo))
    with pytest.raises(AuthError) as caught:
        client.get_note("nte_1")
    assert REDACTED in str(caught.value)
    leak_guard.check_exception(caught.value)


def test_redirects_are_not_followed(canned: Any) -> None:
    server, client = canned(
        Canned(302, b"", "text/plain", {"Location": "http://127.0.0.1:9/elsewhere"})
    )
    with pytest.raises(ApiError) as caught:
        client.get_note("nte_1")
    assert caught.value.status == 302
    assert [r["path"] for r in server.requests] == ["/v3/notes/nte_1"]


# -- success bodies -------------------------------------------------------------------------


def test_unreadable_upload_answer_means_a_copy_may_be_stored(canned: Any) -> None:
    server, client = canned(Canned(200, b"<html>OK</html>", "text/html"))
    with pytest.raises(UploadOutcomeUnknown) as caught:
        client.upload_image("nte_1", "prv_1", JPEG, "p.jpg", "image/jpeg")
    assert caught.value.copy_may_exist
    assert len(server.requests) == 1


def test_unreadable_read_answer_is_a_server_error(canned: Any) -> None:
    _, client = canned(Canned(200, json.dumps({"code": "success"}).encode()))
    with pytest.raises(ServerError) as caught:
        client.get_note("nte_1")
    assert caught.value.code == "invalid_response"


def test_answers_without_rate_headers_are_fine(canned: Any) -> None:
    gate, fake = fake_gate()
    _, client = canned(Canned(200, NOTE), gate=gate)
    for _ in range(3):
        assert client.get_note("nte_1").id == "nte_1"
    info = client.last_rate_limit
    assert (info.limit, info.remaining, info.reset, info.retry_after) == (None,) * 4
    assert fake.sleeps == []


def test_multipart_body_is_well_formed(canned: Any) -> None:
    from email.parser import BytesParser
    from email.policy import HTTP

    server, client = canned(Canned(200, IMAGE))
    client.upload_image("nte_1", "prv_1", JPEG, "photo-01.jpg", "image/jpeg")
    [request] = server.requests
    assert request["path"] == "/v3/notes/nte_1/images?providerId=prv_1"
    assert request["authorization"] == f"Bearer {KEY}"
    # Parse the body as a MIME message, the way a server's form parser would.
    boundary = request["body"].split(b"\r\n", 1)[0][2:]
    message = BytesParser(policy=HTTP).parsebytes(
        b'Content-Type: multipart/form-data; boundary="' + boundary + b'"\r\n\r\n' + request["body"]
    )
    [part] = list(message.iter_parts())
    assert part.get_param("name", header="content-disposition") == "file"
    assert part.get_filename() == "photo-01.jpg"
    assert part.get_content_type() == "image/jpeg"
    assert part.get_payload(decode=True) == JPEG


# -- 429 waits ------------------------------------------------------------------------------


def test_429_without_retry_after_waits_for_the_reset(canned: Any) -> None:
    gate, fake = fake_gate()
    reset = int(time.time()) + 20
    limited = Canned(
        429,
        error_body("rate_limit_exceeded", "Rate limit exceeded."),
        headers={
            "X-RateLimit-Limit": "1000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(reset),
        },
    )
    _, client = canned(limited, Canned(200, NOTE), gate=gate, retry_policy=RetryPolicy())
    client.get_note("nte_1")
    assert len(fake.sleeps) == 1
    assert 18 <= fake.sleeps[0] <= 21


def test_429_with_no_hints_backs_off_with_jitter(canned: Any) -> None:
    gate, fake = fake_gate()
    limited = Canned(429, error_body("rate_limit_exceeded", "Rate limit exceeded."))
    server, client = canned(
        limited, limited, Canned(200, NOTE), gate=gate, retry_policy=RetryPolicy()
    )
    client.get_note("nte_1")
    assert len(server.requests) == 3
    first, second = fake.sleeps
    assert 1.0 <= first <= 2.0  # 2^0 s + up to 1 s of jitter
    assert 2.0 <= second <= 3.0  # 2^1 s + up to 1 s of jitter


def test_absurd_retry_after_is_capped(canned: Any) -> None:
    gate, fake = fake_gate()
    limited = Canned(
        429, error_body("rate_limit_exceeded", "slow down"), headers={"Retry-After": "86400"}
    )
    _, client = canned(limited, Canned(200, NOTE), gate=gate, retry_policy=RetryPolicy())
    client.get_note("nte_1")
    assert fake.sleeps == [300.0]


def test_persistent_429_gives_up(canned: Any) -> None:
    limited = Canned(
        429, error_body("rate_limit_exceeded", "slow down", "t-429"), headers={"Retry-After": "0"}
    )
    server, client = canned(limited)
    with pytest.raises(RateLimited) as caught:
        client.get_note("nte_1")
    assert caught.value.trace_id == "t-429"
    assert len(server.requests) == 1 + FAST_RETRIES.rate_limit_retries


# -- the log --------------------------------------------------------------------------------


def test_one_debug_line_per_request_without_secrets(
    canned: Any, caplog: pytest.LogCaptureFixture
) -> None:
    _, client = canned(Canned(404, error_body("not_found", "Note not found", "t-404")))
    with pytest.raises(ApiError):
        client.get_note("nte_1")
    lines = [r.getMessage() for r in caplog.records if r.name == "maxupload.core.api.session"]
    assert lines == ["GET /v3/notes/nte_1 -> 404 trace_id=t-404 attempt=1"]
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name.startswith("maxupload"))


def test_503_with_retry_after_waits_that_long(
    canned: Any, caplog: pytest.LogCaptureFixture
) -> None:
    busy = Canned(
        503, error_body("service_unavailable", "Try later", "t-503"), headers={"Retry-After": "1"}
    )
    server, client = canned(busy, Canned(200, NOTE))
    assert client.get_note("nte_1").id == "nte_1"
    assert len(server.requests) == 2
    waits = [r.getMessage() for r in caplog.records if "sending again in" in r.getMessage()]
    assert waits == ["GET /v3/notes/nte_1: HTTP 503; sending again in 1.0 s (attempt 2)"]
