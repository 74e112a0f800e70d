"""The sandbox HTTP server: a real socket on loopback, one thread per connection.

Transport concerns live here (reading bodies, injected drops and delays, rate-limit headers,
the request log); what each endpoint answers lives in :mod:`maxupload.sandbox.api`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from maxupload.sandbox.api import ApiRequest, Keyring, SandboxApi, too_large_message
from maxupload.sandbox.clock import SandboxClock
from maxupload.sandbox.config import Faults, SandboxConfig
from maxupload.sandbox.demo_data import ALL_SCOPES, READONLY_SCOPES, DemoData, build_demo_data
from maxupload.sandbox.faults import FaultBoard
from maxupload.sandbox.ratelimit import RateDecision, SlidingWindow
from maxupload.sandbox.replies import (
    ApiFailure,
    Reply,
    error_reply,
    json_reply,
    new_trace_id,
    s3_error,
)
from maxupload.sandbox.signing import UrlSigner
from maxupload.sandbox.store import ImageStore, RequestLog, iso_utc

#: Bytes a multipart body may carry beyond the file itself (boundaries and part headers).
_MULTIPART_SLACK = 1_000_000
#: SO_LINGER on, timeout 0: close() sends a TCP reset (Windows packs two shorts).
_LINGER_RESET = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
#: Largest JSON body a control endpoint reads.
_CONTROL_BODY_MAX = 64_000


def _contract_bytes() -> bytes:
    return resources.files("maxupload.sandbox").joinpath("contract/openapi.yaml").read_bytes()


class _BodyTooLarge(Exception):
    pass


class _BadBody(Exception):
    pass


class _ClientGone(Exception):
    """The connection ended before the whole body arrived (e.g. the user cancelled)."""


class _Handler(BaseHTTPRequestHandler):
    """One connection; HTTP/1.1 keep-alive, every answer with a Content-Length."""

    protocol_version = "HTTP/1.1"
    server_version = "MaxAISandbox/1.0"
    sys_version = ""
    timeout = 120
    server: _HttpServer

    # -- plumbing -----------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log keeps what matters."""

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def finish(self) -> None:
        super().finish()
        if getattr(self, "_reset_connection", False):
            # SO_LINGER 0: close with a TCP reset, the way a crashed proxy would.
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
                self.connection.close()
            except OSError:
                pass

    def _read_body(self, limit: int) -> bytes:
        """The whole request body (Content-Length or chunked), at most ``limit`` bytes."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise _ClientGone()
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"x", 16)
                except ValueError:
                    raise _BadBody("malformed chunked body") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > limit:
                    raise _BodyTooLarge()
                chunk = self.rfile.read(size)
                if len(chunk) < size:
                    raise _ClientGone()
                chunks.append(chunk)
                self.rfile.readline(1024)
        length_text = self.headers.get("Content-Length") or "0"
        try:
            length = int(length_text)
        except ValueError:
            raise _BadBody("invalid Content-Length") from None
        if length > limit:
            raise _BodyTooLarge()
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:
            raise _ClientGone()
        return body

    def _send(self, reply: Reply) -> bool:
        """Write the answer; False when the client had already gone."""
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            self.wfile.flush()
            return True
        except OSError:
            self.close_connection = True
            return False

    # -- routing ------------------------------------------------------------------------

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        parts = urlsplit(self.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        if path.startswith("/_sandbox/") or path == "/_sandbox":
            self._control(sandbox, path)
        elif path.startswith("/_s3/"):
            self._s3(sandbox, path, query, parts.query)
        elif path in ("/", "/openapi.yaml"):
            self._static(sandbox, path)
        else:
            self._api(sandbox, path, query, parts.query)

    def _static(self, sandbox: SandboxServer, path: str) -> None:
        self._drain()
        if path == "/openapi.yaml":
            self._send(Reply(200, _contract_bytes(), "application/yaml"))
        else:
            info = {"service": "Max AI API sandbox", "baseUrl": sandbox.base_url}
            self._send(json_reply(200, info))

    def _drain(self) -> None:
        try:
            self._read_body(_CONTROL_BODY_MAX)
        except (_BodyTooLarge, _BadBody, _ClientGone, OSError):
            self.close_connection = True

    def _log_entry(self, path: str, query: dict[str, str], raw_query: str) -> dict[str, Any]:
        sandbox = self.server.sandbox
        return sandbox.log.start(
            {
                "method": self.command,
                "path": path,
                "query": query,
                "rawQuery": raw_query,
                "status": None,
                "time": iso_utc(sandbox.clock.now()),
                "fault": None,
                "key": sandbox.api.key_label(self.headers),
                "hasAuthorization": self.headers.get("Authorization") is not None,
                "orgId": self.headers.get("X-Organization-Id"),
                "userAgent": self.headers.get("User-Agent"),
                "contentType": self.headers.get("Content-Type"),
                "contentLength": self.headers.get("Content-Length"),
                "connection": f"{self.client_address[0]}:{self.client_address[1]}",
                "traceId": None,
                "bodyBytes": None,
            }
        )

    def _api(
        self, sandbox: SandboxServer, path: str, query: dict[str, str], raw_query: str
    ) -> None:
        entry = self._log_entry(path, query, raw_query)
        method = self.command
        if sandbox.faults.take("drop_before_read", method, path):
            sandbox.log.update(entry, fault="drop_before_read")
            self.close_connection = True
            self._reset_connection = True
            return
        trace_id = new_trace_id()
        file_limit = sandbox.config.max_upload_bytes
        try:
            body = self._read_body(file_limit + _MULTIPART_SLACK)
        except _BodyTooLarge:
            self.close_connection = True
            msg = too_large_message(self.headers.get("Content-Length"), file_limit)
            self._finish_api(entry, error_reply(400, "bad_request", msg, trace_id), None, None)
            return
        except _BadBody as exc:
            self.close_connection = True
            self._finish_api(entry, error_reply(400, "bad_request", str(exc), trace_id), None, None)
            return
        except (_ClientGone, OSError):
            # Like any server, never act on half a request: nothing is processed or stored.
            self.close_connection = True
            sandbox.log.update(entry, fault="client_gone", answered=False)
            return
        sandbox.log.update(entry, bodyBytes=len(body))
        drop = sandbox.faults.take("drop_connection", method, path)
        now = sandbox.clock.now()
        fault: str | None = None
        if sandbox.faults.take("rate_limit_burst", method, path):
            fault = "rate_limit_burst"
            decision = sandbox.window.burst(now, sandbox.faults.retry_after_s())
        else:
            decision = sandbox.window.hit(now)
        if not decision.allowed:
            reply = error_reply(
                429,
                "rate_limit_exceeded",
                f"Rate limit exceeded. Maximum {decision.limit} requests per "
                f"{sandbox.config.rate_window_s:g} seconds.",
                trace_id,
            )
        elif sandbox.faults.take("error_500", method, path):
            fault = "error_500"
            reply = error_reply(500, "internal_error", "Internal server error", trace_id)
        else:
            request = ApiRequest(method, path, query, self.headers, body, now, trace_id)
            try:
                reply = sandbox.api.handle(request)
                reply.trace_id = trace_id
            except ApiFailure as failure:
                reply = error_reply(failure.status, failure.code, failure.message, trace_id)
                if failure.status == 502:
                    fault = "ehr_fail"
        if drop:
            fault = f"{fault}+drop_connection" if fault else "drop_connection"
        self._finish_api(entry, reply, decision, fault, drop=drop)

    def _finish_api(
        self,
        entry: dict[str, Any],
        reply: Reply,
        decision: RateDecision | None,
        fault: str | None,
        *,
        drop: bool = False,
    ) -> None:
        """Add rate-limit headers, wait out any latency, then answer (or hang up unanswered)."""
        sandbox = self.server.sandbox
        if decision is None:
            decision = sandbox.window.peek(sandbox.clock.now())
        reply.headers.update(decision.headers())
        delay = sandbox.faults.latency_s(self.command, entry["path"])
        if delay:
            fault = f"{fault}+latency" if fault else "latency"
            sandbox.log.update(entry, fault=fault)
            sandbox.stopping.wait(delay)
        # The log is complete before the answer leaves, so a test that reads it right after
        # its response never races the server thread.
        sandbox.log.update(
            entry,
            status=None if drop else reply.status,
            processedStatus=reply.status,
            fault=fault,
            traceId=reply.trace_id,
            answered=not drop,
        )
        if drop:
            # The request was processed (an upload is stored); the answer is never sent.
            self.close_connection = True
            sent = False
        else:
            sent = self._send(reply)
            if not sent:
                sandbox.log.update(entry, answered=False)
        sandbox.echo(
            f"{self.command} {entry['path']} -> {reply.status if sent else 'no answer'}"
            + (f" [{fault}]" if fault else "")
        )

    def _s3(self, sandbox: SandboxServer, path: str, query: dict[str, str], raw_query: str) -> None:
        entry = self._log_entry(path, query, raw_query)
        self._drain()
        if sandbox.faults.take("drop_connection", self.command, path):
            sandbox.log.update(entry, fault="drop_connection")
            self.close_connection = True
            return
        if sandbox.faults.take("error_500", self.command, path):
            sandbox.log.update(entry, fault="error_500")
            reply = s3_error(500, "InternalError", "We encountered an internal error.")
        else:
            auth = self.headers.get("Authorization")
            reply = sandbox.serve_object(self.command, path, query, auth)
        sandbox.log.update(entry, status=reply.status, answered=True)
        if not self._send(reply):
            sandbox.log.update(entry, answered=False)

    # -- control endpoints (never rate-limited, never logged) -------------------------------

    def _control(self, sandbox: SandboxServer, path: str) -> None:
        try:
            raw = self._read_body(_CONTROL_BODY_MAX)
        except (_ClientGone, OSError):
            self.close_connection = True
            return
        except (_BodyTooLarge, _BadBody):
            self.close_connection = True
            self._send(json_reply(400, {"error": "body too large or malformed"}))
            return
        try:
            payload: Any = json.loads(raw) if raw.strip() else {}
        except ValueError:
            self._send(json_reply(400, {"error": "body must be JSON"}))
            return
        route = (self.command, path.rstrip("/"))
        try:
            if route == ("GET", "/_sandbox/uploads"):
                result: Any = {"uploads": sandbox.uploads()}
            elif route == ("GET", "/_sandbox/requests"):
                result = {"requests": sandbox.request_log()}
            elif route == ("POST", "/_sandbox/reset"):
                sandbox.reset()
                result = {"ok": True}
            elif route == ("GET", "/_sandbox/faults"):
                result = {"faults": sandbox.faults.current().to_dict()}
            elif route == ("POST", "/_sandbox/faults"):
                if not isinstance(payload, dict):
                    raise ValueError("body must be a JSON object of fault fields")
                result = {"faults": sandbox.set_faults(**payload).to_dict()}
            elif route == ("POST", "/_sandbox/clock"):
                advance = float(payload.get("advance_s", 0)) if isinstance(payload, dict) else 0
                sandbox.advance_clock(advance)
                result = {"now": iso_utc(sandbox.clock.now())}
            elif route == ("GET", "/_sandbox/demo"):
                result = sandbox.demo.summary()
            else:
                self._send(json_reply(404, {"error": f"no control endpoint {route[0]} {path}"}))
                return
        except (ValueError, TypeError) as exc:
            self._send(json_reply(400, {"error": str(exc)}))
            return
        self._send(json_reply(200, result))


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
        super().__init__(address, _Handler)

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
        problem = self._get_signer().check(path, query, self.clock.now())
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
        prefix = f"/_s3/{self._get_signer().bucket}/"
        image = self.store.by_object_key(path[len(prefix) :]) if path.startswith(prefix) else None
        if image is None:
            return s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return Reply(
            200,
            image.data,
            image.mime_type,
            {"ETag": '"' + image.to_dict()["sha256"][:32] + '"', "Cache-Control": "private"},
        )
