"""HTTP answers the sandbox builds: JSON envelopes, the API's error body, S3-style XML errors."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    trace_id: str | None = None


class ApiFailure(Exception):
    """Raised inside an endpoint to answer with the API's error body."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def new_trace_id() -> str:
    return str(uuid.uuid4())


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, json.dumps(payload, separators=(",", ":")).encode())


def success(data: Any) -> Reply:
    return json_reply(200, {"code": "success", "data": data})


def error_reply(status: int, code: str, message: str, trace_id: str | None = None) -> Reply:
    trace_id = trace_id or new_trace_id()
    reply = json_reply(status, {"code": code, "message": message, "trace_id": trace_id})
    reply.trace_id = trace_id
    return reply


def s3_error(status: int, code: str, message: str) -> Reply:
    request_id = uuid.uuid4().hex[:16].upper()
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    )
    return Reply(status, body.encode(), "application/xml")
