"""One API call's pieces: limits, the retry policy, URL and header checks, the streamed
multipart body, what an attempt handed to the transport, and plain words for failures."""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlsplit

import httpx

from maxupload.core.api.environments import is_loopback_host
from maxupload.core.api.errors import (
    Cancelled,
    InsecureUrlError,
    ServerError,
    UploadOutcomeUnknown,
    VerificationError,
)
from maxupload.core.api.ratelimit import MAX_WAIT_S
from maxupload.core.api.transport import tls_verification_failed as _tls_verification_failed

#: Bytes handed to the transport per step of an upload (progress and cancel granularity).
CHUNK_SIZE = 64 * 1024
#: Every read request ends within this many seconds in total, however the server trickles.
READ_DEADLINE_S = 30.0
#: Uploads and downloads get this much more time per byte on top (a slow but moving link).
MIN_BYTES_PER_S = 25_000
#: ``download`` refuses a stored copy larger than this.
MAX_DOWNLOAD_BYTES = 100_000_000
#: An API answer (JSON) larger than this is refused as not plausible.
MAX_API_RESPONSE_BYTES = 32_000_000
#: MIME types the upload endpoint takes.
UPLOAD_MIME_TYPES = frozenset({"image/jpeg", "image/png"})

_RETRYABLE_READ_STATUSES = frozenset({500, 502, 503, 504})

Kind = Literal["read", "upload", "download"]
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait between attempts (seconds). The defaults follow the API's guide."""

    #: Backoff before retry n (0-based): ``2**n * base_delay + random(0..base_delay)``.
    base_delay: float = 1.0
    max_delay: float = 30.0
    #: A 429 waits at least this long, and at most ``max_rate_limit_wait``.
    min_rate_limit_wait: float = 1.0
    max_rate_limit_wait: float = MAX_WAIT_S
    #: How many 429 answers in a row one call absorbs before raising ``RateLimited``.
    rate_limit_retries: int = 5

    def backoff(self, attempt: int) -> float:
        delay = (2.0**attempt) * self.base_delay + random.uniform(0, self.base_delay)
        return min(delay, self.max_delay)


def check_url(url: str) -> httpx.URL:
    """Accept https, and plain http only to this computer; raise ``InsecureUrlError`` else."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise InsecureUrlError("The server address is not a valid URL.") from None
    if not parsed.host:
        raise InsecureUrlError("The server address has no host name.")
    if parsed.scheme == "https":
        return parsed
    if parsed.scheme == "http":
        if is_loopback_host(parsed.host):
            return parsed
        raise InsecureUrlError(
            f"Refusing plain http:// to {parsed.host}: photos and the API key would travel "
            "unencrypted. Use https://."
        )
    raise InsecureUrlError(f"Unsupported address scheme '{parsed.scheme}': use https://.")


class _Attempt:
    """What one attempt handed to the transport, from httpcore's trace and our body iterator."""

    def __init__(self) -> None:
        self.headers_complete = False
        self.body_failed = False
        self.handed_last_chunk = False

    def trace(self, name: str, info: Mapping[str, Any]) -> None:
        if name.endswith("send_request_headers.complete"):
            self.headers_complete = True
        elif name.endswith("send_request_body.failed"):
            self.body_failed = True

    def request_complete(self, has_body: bool) -> bool:
        """Whether the server may hold the whole request.

        With a body, this rests on our own iterator: until it hands over the last chunk the
        server cannot have the whole request, whatever the transport reports. A body write
        that failed (httpcore swallows that error and then reads) also leaves it incomplete.
        """
        if has_body:
            return self.handed_last_chunk and not self.body_failed
        return self.headers_complete


class _Multipart:
    """A ``multipart/form-data`` body with one part ``file``, streamed in chunks."""

    def __init__(self, data: bytes, file_name: str, mime_type: str) -> None:
        boundary = "MaxUpload-" + secrets.token_hex(16)
        safe_name = (
            file_name.replace("\\", "\\\\")
            .replace('"', "%22")
            .replace("\r", "%0D")
            .replace("\n", "%0A")
        )
        self.head = (
            f"--{boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{safe_name}"\r\n'
            f"Content-Type: {mime_type}\r\n\r\n"
        ).encode()
        self.data = data
        self.tail = f"\r\n--{boundary}--\r\n".encode()
        self.content_type = f"multipart/form-data; boundary={boundary}"
        self.length = len(self.head) + len(data) + len(self.tail)

    def _pieces(self) -> Iterator[bytes]:
        """Head, the photo in CHUNK_SIZE slices (cut as they are sent, not all up front), tail."""
        yield self.head
        for start in range(0, len(self.data), CHUNK_SIZE):
            yield self.data[start : start + CHUNK_SIZE]
        yield self.tail

    def chunks(
        self,
        attempt: _Attempt,
        on_progress: ProgressCallback | None,
        cancel: threading.Event | None,
    ) -> Iterator[bytes]:
        """Yield the body; report progress once a chunk has been taken by the transport."""
        sent = 0
        if on_progress is not None:
            on_progress(0, self.length)
        for piece in self._pieces():
            if cancel is not None and cancel.is_set():
                raise Cancelled("Upload cancelled before it was complete; nothing was stored.")
            if piece is self.tail:
                attempt.handed_last_chunk = True
            yield piece
            # The transport asks for the next chunk only after writing this one.
            sent += len(piece)
            if on_progress is not None:
                on_progress(sent, self.length)


@dataclass
class _Call:
    method: str
    url: str
    kind: Kind
    params: Mapping[str, str] | None = None
    body: _Multipart | None = None
    on_progress: ProgressCallback | None = None
    cancel: threading.Event | None = None
    max_bytes: int = MAX_API_RESPONSE_BYTES
    #: False: a 429 pauses every request for its wait, then raises (the caller re-sends).
    resend_when_rate_limited: bool = True


@dataclass(frozen=True)
class _Answer:
    """One answer, its JSON object read once ({} for downloads or non-JSON) and its trace id."""

    response: httpx.Response
    body: bytes
    payload: dict[str, Any]
    trace_id: str | None


def _header_value(value: str, what: str) -> str:
    """Refuse values that cannot travel in a header (never echoing them back)."""
    value = (value or "").strip()
    if not value or any(not (0x21 <= ord(ch) <= 0x7E) for ch in value):
        raise ValueError(f"The {what} is empty or contains characters a header cannot carry.")
    return value


def _seg(value: str) -> str:
    """One path segment, percent-encoded so an id can never change the path."""
    return quote(value, safe="")


def _host(url: str) -> str:
    return urlsplit(url).hostname or "the server"


def _check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Cancelled before sending; nothing was stored.")


class _TooSlow(httpx.TimeoutException):
    """The request's total deadline passed (a server trickling its answer): not retried."""

    def __init__(self, message: str) -> None:
        super().__init__(message)


def _transient(exc: httpx.HTTPError) -> bool:
    """Failures that may pass on their own (not configuration problems)."""
    if _tls_verification_failed(exc) or isinstance(exc, _TooSlow):
        return False
    return isinstance(exc, httpx.TimeoutException | httpx.NetworkError | httpx.RemoteProtocolError)


def _describe(
    exc: httpx.HTTPError, call: _Call, upload_timeout: httpx.Timeout, timeout: httpx.Timeout
) -> str:
    """Our own words for a transport failure (httpx text only where it names the OS error)."""
    waited = upload_timeout if call.kind == "upload" else timeout
    if _tls_verification_failed(exc):
        return "the server's TLS certificate could not be verified"
    if isinstance(exc, _TooSlow):
        return f"{exc}: the server (or a proxy) is answering far too slowly"
    if isinstance(exc, httpx.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, httpx.PoolTimeout):
        return "no free connection became available in time"
    if isinstance(exc, httpx.ReadTimeout):
        return f"no answer came back within {waited.read or 0:g} s"
    if isinstance(exc, httpx.WriteTimeout):
        return f"sending stalled for {waited.write or 0:g} s"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server closed the connection without answering"
    if isinstance(exc, httpx.ConnectError):
        return f"the connection failed ({str(exc)[:120] or 'refused'})"
    if isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError):
        return f"the connection was lost ({str(exc)[:120] or type(exc).__name__})"
    if isinstance(exc, httpx.ProxyError):
        return "the proxy refused the connection"
    if isinstance(exc, httpx.DecodingError):
        return "the answer could not be decoded"
    return f"the request failed ({type(exc).__name__})"


def _status_retryable(kind: Kind, status: int) -> bool:
    if kind == "upload":
        return False
    if kind == "download" and status == 429:
        return True
    return status in _RETRYABLE_READ_STATUSES


def _read_limited(response: httpx.Response, call: _Call) -> bytes:
    """Read a body, refusing one larger than ``call.max_bytes`` and honouring cancel."""
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > call.max_bytes:
        raise _too_large(call, int(declared))
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes(CHUNK_SIZE):
        if call.kind == "download":
            _check_cancel(call.cancel)
        size += len(chunk)
        if size > call.max_bytes:
            raise _too_large(call, size)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(call: _Call, size: int) -> Exception:
    if call.kind == "download":
        return VerificationError(
            f"The stored copy is larger than {call.max_bytes // 1_000_000} MB "
            f"({size} bytes or more), so MaxUpload did not download it."
        )
    if call.kind == "upload":
        return UploadOutcomeUnknown(
            "The server's answer to the upload was implausibly large; a copy may be stored."
        )
    return ServerError("The server's answer was implausibly large.", code="invalid_response")
