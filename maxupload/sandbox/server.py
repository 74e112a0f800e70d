"""The sandbox server: its state (demo clinic, keys, store, log, faults, rate window) and the
listening socket with one thread per connection, all stopped and joined by ``stop()``.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any

from maxupload.sandbox.api import Keyring, SandboxApi
from maxupload.sandbox.clock import SandboxClock
from maxupload.sandbox.config import Faults, SandboxConfig
from maxupload.sandbox.demo_data import ALL_SCOPES, READONLY_SCOPES, DemoData, build_demo_data
from maxupload.sandbox.faults import FaultBoard
from maxupload.sandbox.handler import SandboxHandler
from maxupload.sandbox.ratelimit import SlidingWindow
from maxupload.sandbox.replies import Reply, s3_error
from maxupload.sandbox.signing import UrlSigner
from maxupload.sandbox.store import ImageStore, RequestLog


class _HttpServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that remembers its connections so stop() can close and join them."""

    daemon_threads = True
    allow_reuse_address = True
    sandbox: SandboxServer

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.sandbox = sandbox
        self._conn_lock = threading.Lock()
        self._conns: dict[threading.Thread, socket.socket] = {}
        super().__init__(address, SandboxHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"sandbox-connection-{self.server_address[1]}",
            daemon=True,
        )
        with self._conn_lock:
            self._conns[thread] = request
        thread.start()

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        try:
            self.process_request_thread(request, client_address)
        finally:
            with self._conn_lock:
                self._conns.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError) or self.sandbox.stopping.is_set():
            return  # the client went away; nothing to report
        super().handle_error(request, client_address)

    def close_connections(self, timeout: float) -> None:
        with self._conn_lock:
            conns = list(self._conns.items())
        for _, sock in conns:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for thread, _ in conns:
            thread.join(max(0.0, deadline - time.monotonic()))


class SandboxServer:
    """A running implementation of the Max AI API contract for demo mode and tests."""

    def __init__(
        self, config: SandboxConfig | None = None, *, echo: Callable[[str], None] | None = None
    ) -> None:
        self.config = config or SandboxConfig()
        self.clock = SandboxClock(self.config.clock)
        self.demo: DemoData = build_demo_data()
        self.keyring = Keyring()
        every_org = set(self.demo.org_members)
        self.keyring.add(self.demo.api_key, ALL_SCOPES, every_org, "demo")
        self.keyring.add(self.demo.readonly_key, READONLY_SCOPES, every_org, "readonly")
        self.keyring.add(self.demo.prod_key, ALL_SCOPES, every_org, "production-style")
        self.store = ImageStore()
        self.log = RequestLog()
        self.faults = FaultBoard(self.config.faults)
        self.window = SlidingWindow(self.config.rate_limit, self.config.rate_window_s)
        self.stopping = threading.Event()
        self._echo = echo
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._signer: UrlSigner | None = None
        self._stopped_port: int | None = None
        self.api = SandboxApi(
            self.config, self.demo, self.keyring, self.store, self.faults, self._get_signer
        )

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> SandboxServer:
        if self._httpd is not None:
            raise RuntimeError("sandbox already started")
        self.stopping.clear()
        self._httpd = _HttpServer((self.config.host, self.config.port), self)
        self._signer = UrlSigner(self.root_url)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-server-{self._httpd.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and join every server thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self.stopping.set()
        httpd.shutdown()
        httpd.close_connections(timeout=5.0)
        httpd.server_close()
        if thread is not None:
            thread.join(5.0)
        self._stopped_port = int(httpd.server_address[1])
        self._httpd = None
        self._thread = None

    def live_threads(self) -> list[threading.Thread]:
        """This server's threads still running (empty after a clean stop)."""
        port = self.port if self._httpd is not None else self._stopped_port
        if port is None:
            return []
        names = (f"sandbox-server-{port}", f"sandbox-connection-{port}")
        return [t for t in threading.enumerate() if t.name in names and t.is_alive()]

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("sandbox not started")
        return int(self._httpd.server_address[1])

    @property
    def root_url(self) -> str:
        host = self.config.host
        if host in ("0.0.0.0", ""):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v3"

    def _get_signer(self) -> UrlSigner:
        if self._signer is None:
            raise RuntimeError("sandbox not started")
        return self._signer

    # -- control ------------------------------------------------------------------------

    def add_key(
        self,
        key: str,
        scopes: tuple[str, ...] | list[str] = ALL_SCOPES,
        orgs: tuple[str, ...] | list[str] | None = None,
        label: str = "custom",
    ) -> None:
        """Accept another API key with these scopes (for the given clinics; default all)."""
        self.keyring.add(key, scopes, set(orgs) if orgs else set(self.demo.org_members), label)

    def set_faults(self, **changes: Any) -> Faults:
        """Change some fault fields at run time (counts mean "the next N matching requests")."""
        return self.faults.update(**changes)

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's time forward (signed URLs expire, the rate window slides)."""
        self.clock.advance(seconds)

    def uploads(self) -> list[dict[str, Any]]:
        return self.store.list()

    def image_bytes(self, image_id: str) -> bytes | None:
        image = self.store.get(image_id)
        return image.data if image else None

    def request_log(self) -> list[dict[str, Any]]:
        return self.log.list()

    def reset(self) -> None:
        """Forget uploads, the request log, faults and the rate window."""
        self.store.clear()
        self.log.clear()
        self.faults.set(Faults())
        self.window.reset()

    def echo(self, line: str) -> None:
        if self._echo is not None:
            self._echo(line)

    def serve_object(
        self, method: str, path: str, query: dict[str, str], authorization: str | None
    ) -> Reply:
        """Answer a GET of a presigned URL the way S3 does."""
        if method != "GET":
            return s3_error(405, "MethodNotAllowed", "The specified method is not allowed.")
        if authorization is not None:
            return s3_error(
                400,
                "InvalidArgument",
                "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                "Signature query string parameter or the Authorization header should be specified",
            )
        signer = self._get_signer()
        problem = signer.check(path, query, self.clock.now())
        if problem == "AccessDenied:expired":
            return s3_error(403, "AccessDenied", "Request has expired")
        if problem == "SignatureDoesNotMatch":
            return s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if problem:
            return s3_error(403, "AccessDenied", "Access Denied")
        prefix = f"/_s3/{signer.bucket}/"
        image = self.store.by_object_key(path[len(prefix) :]) if path.startswith(prefix) else None
        if image is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Reply(
            200,
            image.data,
            image.mime_type,
            {"ETag": f'"{image.sha256[:32]}"', "Cache-Control": "private"},
        )
