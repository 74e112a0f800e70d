"""Where the key goes and how long a request may take: HTTP_PROXY is never used for plain http
(the key would travel in clear text to another host), HTTPS goes through a CONNECT proxy when
one is set, and a server that trickles its answer ends the request at its total deadline."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.api.errors import NetworkError
from maxupload.sandbox import SandboxServer

trustme = pytest.importorskip("trustme")

from tests.core.api.test_api_client_tls import KEY  # noqa: E402
from tests.plugins.tls import TlsServer  # noqa: E402


class _Listener:
    """A loopback TCP server that runs ``serve(conn)`` per connection on a thread."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received = bytearray()
        self.connections = 0
        self.stopping = threading.Event()
        self.workers: list[threading.Thread] = []
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self.workers.append(worker)
            worker.start()

    def _serve(self, conn: socket.socket) -> None:
        self.conns.append(conn)
        with conn, contextlib.suppress(OSError):
            self.serve(conn)

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def read_head(self, conn: socket.socket) -> bytes:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                break
            head += chunk
        self.received += head
        return head

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.sock.close()
        for conn in list(self.conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self.thread.join(10)
        for worker in self.workers:
            worker.join(10)


class RecordingProxy(_Listener):
    """Answers every request with 502 and keeps what it received."""

    def serve(self, conn: socket.socket) -> None:
        self.read_head(conn)
        conn.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")


class ConnectProxy(_Listener):
    """A minimal CONNECT proxy: tunnels bytes both ways and keeps every byte it relayed."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def serve(self, conn: socket.socket) -> None:
        head = self.read_head(conn)
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ")
        if method != "CONNECT":
            conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            return
        self.targets.append(target)
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pump(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    self.received += data
                    dst.sendall(data)
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

        back = threading.Thread(target=pump, args=(upstream, conn), daemon=True)
        back.start()
        pump(conn, upstream)
        back.join(10)
        upstream.close()


class TrickleServer(_Listener):
    """Reads a request, then sends its answer one byte per second, never finishing."""

    def serve(self, conn: socket.socket) -> None:
        self.read_head(conn)
        answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"a" * 500
        for byte in answer:
            if self.stopping.wait(1.0):
                return
            conn.sendall(bytes([byte]))


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture
def recording_proxy() -> Iterator[RecordingProxy]:
    proxy = RecordingProxy()
    yield proxy
    proxy.stop()


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
def test_plain_http_never_goes_through_a_proxy(
    variable: str,
    sandbox: SandboxServer,
    recording_proxy: RecordingProxy,
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    clean_proxy_env.setenv(variable, f"http://127.0.0.1:{recording_proxy.port}")
    demo = sandbox.demo
    with ApiClient(sandbox.base_url, demo.api_key, demo.org_id) as client:
        assert client.get_note(demo.open_note_id).id == demo.open_note_id
    assert recording_proxy.connections == 0
    assert demo.api_key.encode() not in recording_proxy.received


def test_https_goes_through_the_clinics_connect_proxy(
    ca: Any, tls_server: TlsServer, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    proxy = ConnectProxy()
    try:
        clean_proxy_env.setenv("HTTPS_PROXY", f"http://127.0.0.1:{proxy.port}")
        bundle = ca.cert_pem.bytes().decode()
        context = ssl.create_default_context(cadata=bundle)
        url = f"https://127.0.0.1:{tls_server.server_address[1]}/v3"
        with ApiClient(url, KEY, "org", verify=context) as client:
            assert client.get_note("nte_1").id == "nte_1"
        assert proxy.targets == [f"127.0.0.1:{tls_server.server_address[1]}"]
        assert tls_server.requests == 1
        assert proxy.received  # the request went through the tunnel ...
        assert KEY.encode() not in proxy.received  # ... encrypted: the proxy never saw the key
    finally:
        proxy.stop()


def test_a_bad_proxy_setting_is_named(clean_proxy_env: pytest.MonkeyPatch) -> None:
    from maxupload.core.api.transport import ProxySettingError

    clean_proxy_env.setenv("HTTPS_PROXY", "gopher://proxy.invalid:70")
    with pytest.raises(ProxySettingError, match="proxy setting"):
        ApiClient("https://api.maxcare.ai/v3", KEY, "org")


def test_a_trickling_server_ends_at_the_total_deadline(clean_proxy_env: pytest.MonkeyPatch) -> None:
    server = TrickleServer()
    try:
        url = f"http://127.0.0.1:{server.port}/v3"
        client = ApiClient(url, KEY, "org", timeout=10.0, deadline=3.0)
        with client, pytest.raises(NetworkError) as caught:
            client.get_note("nte_1")
        assert "within 3 s" in str(caught.value)
        assert "too slowly" in str(caught.value)
        assert server.connections == 1  # a deadline is not retried
    finally:
        server.stop()


def test_json_answer_is_unaffected_by_the_deadline(sandbox: SandboxServer) -> None:
    demo = sandbox.demo
    with ApiClient(sandbox.base_url, demo.api_key, demo.org_id, deadline=5.0) as client:
        note = client.get_note(demo.open_note_id)
    assert json.loads(json.dumps({"id": note.id}))["id"] == demo.open_note_id


def test_httpx_command_line_client_is_never_loaded() -> None:
    """httpx loads its own command-line client (click, rich, pygments: about 80 ms at every
    start) when those are installed, as they are here; MaxUpload's API layer keeps it out."""
    import subprocess
    import sys

    pytest.importorskip("rich")
    names = ("httpx._main", "click", "rich", "pygments")
    code = (
        "import sys, maxupload.core.api.client, httpx\n"
        f"print(sorted(m for m in {names!r} if sys.modules.get(m)), callable(httpx.main))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["[]", "True"]
