"""TLS is verified: an untrusted certificate is refused (and not retried); a trusted CA works."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

trustme = pytest.importorskip("trustme")

from maxupload.core.api_client import ApiClient  # noqa: E402
from maxupload.core.errors import NetworkError  # noqa: E402
from tests.plugins.contract import FAST_RETRIES, LeakGuard  # noqa: E402

KEY = "max_dev_ak_" + "7e5" * 10 + "ab"
NOTE = json.dumps({"code": "success", "data": {"id": "nte_1"}}).encode()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests += 1  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(NOTE)))
        self.end_headers()
        self.wfile.write(NOTE)


class TlsServer(ThreadingHTTPServer):
    """HTTPS on loopback with a certificate from a test CA; counts connections and requests."""

    daemon_threads = True

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.connections = 0
        self.requests = 0
        self.thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        self.connections += 1
        return self.context.wrap_socket(sock, server_side=True), address

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        self.thread.join(5)


@pytest.fixture
def ca() -> Any:
    return trustme.CA()


@pytest.fixture
def tls_server(ca: Any) -> Iterator[TlsServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = TlsServer(context)
    yield server
    server.stop()


def test_untrusted_certificate_is_refused_and_not_retried(
    tls_server: TlsServer, leak_guard: LeakGuard
) -> None:
    leak_guard.watch(KEY)
    url = f"https://127.0.0.1:{tls_server.server_address[1]}/v3"
    client = ApiClient(url, KEY, "org", retry_policy=FAST_RETRIES)
    with client, pytest.raises(NetworkError) as caught:
        client.get_note("nte_1")
    assert "certificate could not be verified" in str(caught.value)
    assert caught.value.request_sent is False
    assert tls_server.requests == 0
    assert tls_server.connections == 1  # a certificate problem does not pass by retrying
    leak_guard.check_exception(caught.value)


def test_a_trusted_ca_bundle_is_accepted(tls_server: TlsServer, ca: Any, tmp_path: Path) -> None:
    bundle = tmp_path / "clinic-ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    url = f"https://127.0.0.1:{tls_server.server_address[1]}/v3"
    with ApiClient(url, KEY, "org", verify=str(bundle)) as client:
        assert client.get_note("nte_1").id == "nte_1"
    assert tls_server.requests == 1


def test_a_context_that_does_not_verify_is_refused() -> None:
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="verify"):
        ApiClient("https://api.maxcare.ai/v3", KEY, "org", verify=lax)
