"""The HTTP side of the sandbox: reads each request, injects transport faults, answers.

Transport concerns live here (reading bodies, injected drops and delays, rate-limit headers,
the request log); what each endpoint answers lives in :mod:`maxupload.sandbox.api`, and the
server's state in :mod:`maxupload.sandbox.server`.
"""

from __future__ import annotations

import json
import socket
import struct
import sys
from http.server import BaseHTTPRequestHandler
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from maxupload.sandbox.api import ApiRequest, too_large_message
from maxupload.sandbox.labels import label_index, label_reply
from maxupload.sandbox.ratelimit import RateDecision
from maxupload.sandbox.replies import (
    ApiFailure,
    Reply,
    error_reply,
    json_reply,
    new_trace_id,
    s3_error,
)
from maxupload.sandbox.store import iso_utc

if TYPE_CHECKING:
    from maxupload.sandbox.server import SandboxServer, _HttpServer

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


class SandboxHandler(BaseHTTPRequestHandler):
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

    def __getattr__(self, name: str) -> Any:
        """Any other method (TRACE, OPTIONS, QUERY, ...) is routed too, so a method the contract
        does not declare for a path answers 405 with its Allow header, not 501."""
        if name.startswith("do_") and name[3:].isalpha() and name[3:].isupper():
            return self._dispatch
        raise AttributeError(name)

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
                reply.headers.update(failure.headers)
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
        if self.command == "GET" and path.startswith("/_sandbox/labels/"):
            self._send(label_reply(sandbox.demo, path.removeprefix("/_sandbox/labels/")))
            return
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
            elif route == ("GET", "/_sandbox/labels"):
                result = {"labels": label_index(sandbox.demo, sandbox.root_url)}
            else:
                self._send(json_reply(404, {"error": f"no control endpoint {route[0]} {path}"}))
                return
        except (ValueError, TypeError) as exc:
            self._send(json_reply(400, {"error": str(exc)}))
            return
        self._send(json_reply(200, result))
