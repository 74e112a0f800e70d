"""Sandbox settings and fault switches, fixed at start and (faults only) changeable at run time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

#: Image statuses an upload may answer with (``SandboxConfig.upload_status``).
UPLOAD_STATUSES = ("synced", "pending_upload")

#: Fault names that count requests down ("the next N matching requests"); -1 means "every one".
COUNTED_FAULTS = (
    "ehr_fail",
    "error_500",
    "drop_connection",
    "drop_before_read",
    "rate_limit_burst",
)


@dataclass
class Faults:
    """Faults the sandbox injects.

    Counted faults hit the next N matching requests, then switch themselves off; ``-1`` (or
    ``true`` over JSON) keeps one on until reset:

    * ``ehr_fail``: the upload is stored as ``pending_upload`` and answered 502
      ``unexpected_integration_error`` "EHR sync failed".
    * ``error_500``: 500 ``internal_error`` before any processing (nothing stored).
    * ``drop_connection``: the request is read and processed (an upload IS stored), then the
      connection is closed without an answer: the "sent, outcome unknown" case.
    * ``drop_before_read``: only the request line and headers are read, then the connection is
      reset; the body is never read and nothing is processed, so a retry is safe.
    * ``rate_limit_burst``: 429 with ``Retry-After: retry_after_s`` before any processing.

    ``latency_ms`` delays every matching answer while non-zero, after processing (an upload is
    stored even when the client gives up waiting).

    Matching: with ``paths``/``methods`` unset, faults hit uploads only
    (``POST /v*/notes/*/images``), except ``rate_limit_burst`` which hits every API request, as
    a real 429 would. ``paths`` are shell-style patterns on the URL path (``/v3/notes/*``,
    ``/_s3/*``); ``methods`` are HTTP methods. When either is set it applies to every fault.
    """

    ehr_fail: int = 0
    error_500: int = 0
    latency_ms: int = 0
    drop_connection: int = 0
    drop_before_read: int = 0
    rate_limit_burst: int = 0
    retry_after_s: int = 1
    paths: tuple[str, ...] | None = None
    methods: tuple[str, ...] | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: Faults | None = None) -> Faults:
        """Build from JSON (``POST /_sandbox/faults``); unknown names raise ValueError."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        values = dict(base.to_dict()) if base is not None else {}
        for name, value in data.items():
            if name in ("paths", "methods"):
                if value is not None and (
                    not isinstance(value, list | tuple)
                    or not all(isinstance(v, str) for v in value)
                ):
                    raise ValueError(f"'{name}' must be a list of strings or null")
                values[name] = tuple(value) if value is not None else None
            else:
                if isinstance(value, bool):
                    value = -1 if value else 0
                if not isinstance(value, int):
                    raise ValueError(f"'{name}' must be an integer")
                if value < -1 or (name in ("latency_ms", "retry_after_s") and value < 0):
                    raise ValueError(f"'{name}' is out of range")
                values[name] = value
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


@dataclass
class SandboxConfig:
    """How one sandbox server behaves. ``port=0`` picks a free port."""

    host: str = "127.0.0.1"
    port: int = 0
    rate_limit: int = 1000
    rate_window_s: float = 60.0
    max_upload_bytes: int = 20_000_000
    upload_status: str = "synced"
    url_ttl_s: int = 3600
    faults: Faults = field(default_factory=Faults)
    #: API versions that serve the signed-URL endpoint (drop "v3" to exercise a /v2 fallback).
    signed_url_versions: tuple[str, ...] = ("v3", "v2")
    #: Time source (Unix seconds); ``SandboxServer.advance_clock`` shifts it further.
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        if self.upload_status not in UPLOAD_STATUSES:
            raise ValueError(f"upload_status must be one of {UPLOAD_STATUSES}")
        if self.rate_limit < 1 or self.rate_window_s <= 0:
            raise ValueError("rate_limit and rate_window_s must be positive")
        if self.max_upload_bytes < 1 or self.url_ttl_s < 1:
            raise ValueError("max_upload_bytes and url_ttl_s must be positive")
