"""A loopback HTTPS server with a certificate from a test CA (fixtures ``ca``, ``tls_server``)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

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
    trustme = pytest.importorskip("trustme")
    return trustme.CA()


@pytest.fixture
def tls_server(ca: Any) -> Iterator[TlsServer]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    server = TlsServer(context)
    yield server
    server.stop()


@pytest.fixture
def untrusted_tls_server() -> Iterator[TlsServer]:
    """HTTPS on loopback with a certificate from a CA nobody trusts."""
    trustme = pytest.importorskip("trustme")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1").configure_cert(context)
    server = TlsServer(context)
    yield server
    server.stop()
