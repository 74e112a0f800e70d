"""ApiClient: the Max AI Public API calls MaxUpload makes, with typed results and typed errors.

Retry rules (why each is safe):

* 429 is answered before any processing, so every request (uploads too) waits through the
  shared ``RateGate`` (``Retry-After``, else ``X-RateLimit-Reset``, else backoff with jitter)
  and is sent again, at most ``RetryPolicy.rate_limit_retries`` times.
* A request that never reached the server complete is sent again with backoff. For an upload,
  "complete" means the body's last chunk was handed to the transport and its write did not
  fail; until then the server holds at most a truncated body, which it cannot store.
* Reads (GET) are idempotent: a 500/502/503/504, a timeout or a lost connection is retried
  with backoff, at most ``max_retries`` times.
* An upload that was sent complete is never re-sent on its own: a timeout or lost connection
  raises ``UploadOutcomeUnknown``, a 502 raises ``EhrSyncFailed`` and any other 5xx raises
  ``UploadServerError`` (the server may have stored the photo before failing). Each says a copy
  may be stored, so the user decides after checking the note.

The API key is sent only in the ``Authorization`` header of API calls. It is never logged,
never part of an exception text, and never shown by ``repr``. Log lines name method, path,
status and trace id; query strings (signed-URL signatures, search text) are never logged.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import re
import secrets
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import parse_qs, quote, urlsplit

import httpx

from maxupload import USER_AGENT
from maxupload.core.environments import api_root, with_version
from maxupload.core.errors import (
    ApiError,
    Cancelled,
    ImageNotFound,
    InsecureUrlError,
    NetworkError,
    NotFound,
    RateLimitInfo,
    ServerError,
    SignedUrlRefused,
    TlsNotVerified,
    UploadOutcomeUnknown,
    UploadServerError,
    VerificationError,
    error_for_status,
)
from maxupload.core.logsetup import REDACTED, redact
from maxupload.core.models import (
    Facility,
    KeyInfo,
    Note,
    Page,
    Pagination,
    Patient,
    Provider,
    SignedUrl,
    UploadedImage,
)
from maxupload.core.ratelimit import MAX_WAIT_S, RateGate
from maxupload.core.settings import is_loopback_host
from maxupload.core.transport import deadline, make_http_client

log = logging.getLogger(__name__)
T = TypeVar("T")


class _HideQueryStrings(logging.Filter):
    """httpx logs every request's full URL at INFO. A signed URL's query is a working link to
    a clinical photo for an hour, and a search query may hold a patient's name: log URLs
    without their query."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(a, httpx.URL) and a.query for a in record.args
        ):
            record.args = tuple(
                a.copy_with(query=None) if isinstance(a, httpx.URL) else a for a in record.args
            )
        return True


_httpx_log = logging.getLogger("httpx")
if not any(isinstance(f, _HideQueryStrings) for f in _httpx_log.filters):
    _httpx_log.addFilter(_HideQueryStrings())

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
#: Signed URLs last one hour when neither the answer nor the URL says otherwise.
DEFAULT_URL_TTL = timedelta(hours=1)

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


def parse_rate_limit(headers: httpx.Headers, *, now: float | None = None) -> RateLimitInfo:
    """Read ``X-RateLimit-*`` and ``Retry-After``; an absent or garbled header becomes None."""

    def number(name: str) -> int | None:
        value = headers.get(name)
        if value is None:
            return None
        try:
            return int(float(value.strip()))
        except ValueError:
            return None

    retry_after: float | None = None
    raw = headers.get("retry-after")
    if raw is not None:
        raw = raw.strip()
        try:
            retry_after = max(float(raw), 0.0)
        except ValueError:
            try:
                when = parsedate_to_datetime(raw)
            except (TypeError, ValueError, IndexError):
                when = None
            if when is not None:
                if when.tzinfo is None:
                    when = when.replace(tzinfo=UTC)
                current = time.time() if now is None else now
                retry_after = max(when.timestamp() - current, 0.0)
    return RateLimitInfo(
        limit=number("x-ratelimit-limit"),
        remaining=number("x-ratelimit-remaining"),
        reset=number("x-ratelimit-reset"),
        retry_after=retry_after,
    )


def signed_url_expiry(url: str, expires_at: object, requested_at: datetime) -> datetime:
    """When a signed URL stops working: ``expiresAt``, else X-Amz-Date + X-Amz-Expires, else +1h."""
    if isinstance(expires_at, str) and expires_at.strip():
        try:
            parsed = datetime.fromisoformat(expires_at.strip().replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    query = {k.lower(): v for k, v in parse_qs(urlsplit(url).query).items()}
    amz_date = query.get("x-amz-date", [""])[0]
    amz_expires = query.get("x-amz-expires", [""])[0]
    if amz_date and amz_expires:
        try:
            signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            return signed_at + timedelta(seconds=int(amz_expires))
        except ValueError:
            pass
    return requested_at + DEFAULT_URL_TTL


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


class _BadAnswer(Exception):
    """A 2xx answer whose body does not have the documented shape."""


class ApiClient:
    """The Max AI Public API for one organization and key. Thread-safe; close it when done."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        org_id: str,
        *,
        timeout: float = 10.0,
        upload_timeout: float = 120.0,
        gate: RateGate | None = None,
        max_retries: int = 3,
        event_hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        verify: bool | str | ssl.SSLContext = True,
        retry_policy: RetryPolicy | None = None,
        deadline: float = READ_DEADLINE_S,
    ) -> None:
        self._base_url = str(check_url(base_url.strip().rstrip("/"))).rstrip("/")
        self._api_key = _header_value(api_key, "API key")
        self._org_id = _header_value(org_id, "organization id")
        self._gate = gate if gate is not None else RateGate()
        self._max_retries = max(0, max_retries)
        self._policy = retry_policy or RetryPolicy()
        self._timeout = httpx.Timeout(timeout)
        self._upload_timeout = httpx.Timeout(timeout, read=upload_timeout, write=upload_timeout)
        self._last_rate_limit = RateLimitInfo()
        self._deadline = deadline
        self._http = make_http_client(
            _tls_context(verify),
            headers={"User-Agent": USER_AGENT},
            timeout=self._timeout,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            event_hooks=dict(event_hooks) if event_hooks else None,
        )

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self._base_url!r}, org_id={self._org_id!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def org_id(self) -> str:
        return self._org_id

    @property
    def gate(self) -> RateGate:
        return self._gate

    @property
    def last_rate_limit(self) -> RateLimitInfo:
        """The rate-limit headers of the latest API answer."""
        return self._last_rate_limit

    # -- endpoints ----------------------------------------------------------------------------

    def me(self) -> KeyInfo:
        """The key check: which app, organization and scopes this key has."""
        data = self._get_json(f"{api_root(self._base_url)}/v1/marketplace/me")
        try:
            app = _obj(data.get("app"))
            org = _obj(data.get("organization"))
            scopes = data.get("scopes") or []
            if not isinstance(scopes, list):
                raise _BadAnswer("scopes is not a list")
            return KeyInfo(
                app_id=_opt_str(app, "id"),
                organization_id=_opt_str(org, "id"),
                scopes=tuple(s for s in scopes if isinstance(s, str)),
            )
        except _BadAnswer as exc:
            raise _unreadable(str(exc)) from None

    def upload_image(
        self,
        note_id: str,
        provider_id: str,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        on_progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        resend_when_rate_limited: bool = True,
    ) -> UploadedImage:
        """Attach one JPEG or PNG to a note, streamed so progress and cancel are real.

        ``on_progress(sent, total)`` counts request-body bytes taken by the transport.
        ``cancel`` stops the upload before its last byte is sent (raises ``Cancelled``);
        once the request is complete it can no longer be taken back, so the answer is awaited.

        Once the whole request has gone out, nothing is re-sent on its own: a lost answer raises
        ``UploadOutcomeUnknown``, a 502 ``EhrSyncFailed``, and any other 5xx
        ``UploadServerError``. The API documents no idempotency key, and a server that fails
        with a 500 may have stored the file before failing (as it does before a 502), so every
        5xx on an upload counts as "a copy may be stored" and the user decides. Only a 429
        (answered before any processing) and a request that never went out complete are
        re-sent automatically; with ``resend_when_rate_limited=False`` a 429 raises
        ``RateLimited`` at once (every request still waits out the pause), so a queue can
        first record that nothing was stored and then send again itself.
        """
        if mime_type not in UPLOAD_MIME_TYPES:
            raise ValueError(f"Only JPEG and PNG can be uploaded, not {mime_type!r}.")
        if not data:
            raise ValueError("The photo is empty.")
        call = _Call(
            "POST",
            self._url(f"/notes/{_seg(note_id)}/images"),
            "upload",
            params={"providerId": provider_id},
            body=_Multipart(data, file_name, mime_type),
            on_progress=on_progress,
            cancel=cancel,
            resend_when_rate_limited=resend_when_rate_limited,
        )
        answer = self._execute(call)
        try:
            record = _obj(_envelope(answer.payload))
            return UploadedImage(
                id=_req_str(record, "id"),
                file_name=_opt_str(record, "fileName") or file_name,
                mime_type=_opt_str(record, "mimeType") or mime_type,
                size_kb=_num(record.get("sizeKb")),
                status=_opt_str(record, "status") or "",
                trace_id=answer.trace_id,
            )
        except _BadAnswer:
            raise UploadOutcomeUnknown(
                "The server accepted the photo (HTTP 200) but its answer could not be read; "
                "a copy may be stored."
            ) from None

    def get_image_url(self, note_id: str, image_id: str) -> SignedUrl:
        """A signed URL for a stored image (``/v3``; ``/v2`` only if ``/v3`` answers 404)."""
        path = f"/notes/{_seg(note_id)}/images/{_seg(image_id)}/url"
        requested_at = datetime.now(UTC)
        try:
            data = self._get_json(self._url(path))
        except NotFound as first:
            try:
                data = self._get_json(with_version(self._base_url, "v2") + path)
            except ApiError as second:
                raise ImageNotFound.from_not_found(first) from second
        try:
            url = _req_str(data, "url")
        except _BadAnswer as exc:
            raise _unreadable(str(exc)) from None
        return SignedUrl(
            url=url, expires_at=signed_url_expiry(url, data.get("expiresAt"), requested_at)
        )

    def download(
        self,
        url: str,
        *,
        cancel: threading.Event | None = None,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
    ) -> bytes:
        """Fetch a signed URL with a plain GET: no API key, no organization header.

        A 403 raises ``SignedUrlRefused`` (the link expired or was refused: get a fresh one).
        """
        check_url(url)
        call = _Call("GET", url, "download", cancel=cancel, max_bytes=max_bytes)
        return self._execute(call).body

    def get_note(self, note_id: str) -> Note:
        data = self._get_json(self._url(f"/notes/{_seg(note_id)}"))
        return _parse(_note, data)

    def list_notes(
        self,
        *,
        patient_id: str | None = None,
        provider_id: str | None = None,
        facility_id: str | None = None,
        page: int = 1,
        page_size: int = 100,
    ) -> Page:
        params = _page_params(page, page_size)
        for name, value in (
            ("patientId", patient_id),
            ("providerId", provider_id),
            ("facilityId", facility_id),
        ):
            if value is not None:
                params[name] = value
        data = self._get_json(self._url("/notes"), params)
        return _parse(lambda d: _page(d, "notes", _note, page, page_size), data)

    def iter_notes(
        self,
        *,
        patient_id: str | None = None,
        provider_id: str | None = None,
        facility_id: str | None = None,
        page_size: int = 100,
    ) -> Iterator[Note]:
        """Every note matching the filters, page by page."""

        def fetch(page: int) -> Page:
            return self.list_notes(
                patient_id=patient_id,
                provider_id=provider_id,
                facility_id=facility_id,
                page=page,
                page_size=page_size,
            )

        return _all_pages(fetch)

    def list_providers(
        self,
        *,
        search: str | None = None,
        hidden: bool | None = False,
        page: int = 1,
        page_size: int = 100,
    ) -> Page:
        params = _page_params(page, page_size)
        if search:
            params["search"] = search
        if hidden is not None:
            params["hidden"] = "true" if hidden else "false"
        data = self._get_json(self._url("/providers"), params)
        return _parse(lambda d: _page(d, "providers", _provider, page, page_size), data)

    def iter_providers(
        self, *, search: str | None = None, hidden: bool | None = False, page_size: int = 100
    ) -> Iterator[Provider]:
        return _all_pages(
            lambda page: self.list_providers(
                search=search, hidden=hidden, page=page, page_size=page_size
            )
        )

    def list_patients(
        self, *, search: str | None = None, page: int = 1, page_size: int = 100
    ) -> Page:
        params = _page_params(page, page_size)
        if search:
            params["search"] = search
        data = self._get_json(self._url("/patients"), params)
        return _parse(lambda d: _page(d, "patients", _patient, page, page_size), data)

    def iter_patients(
        self, *, search: str | None = None, page_size: int = 100
    ) -> Iterator[Patient]:
        return _all_pages(
            lambda page: self.list_patients(search=search, page=page, page_size=page_size)
        )

    # -- transport ----------------------------------------------------------------------------

    def _url(self, path: str) -> str:
        return self._base_url + path

    def _get_json(self, url: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        answer = self._execute(_Call("GET", url, "read", params=params))
        try:
            return _obj(_envelope(answer.payload))
        except _BadAnswer as exc:
            raise _unreadable(str(exc)) from None

    def _execute(self, call: _Call) -> _Answer:
        """Send with the retry rules in the module docstring; 2xx comes back, the rest raises."""
        retries = 0
        rate_limited = 0
        number = 0
        while True:
            number += 1
            _check_cancel(call.cancel)
            if call.kind != "download":
                self._gate.wait(call.cancel)
            attempt = _Attempt()
            outcome = self._attempt(call, attempt)
            if isinstance(outcome, httpx.HTTPError):
                error = self._network_error(call, attempt, outcome)
                if error.request_sent or not _transient(outcome) or retries >= self._max_retries:
                    raise error
                self._wait_before_retry(call, retries, str(error), number)
                retries += 1
                continue

            response, body = outcome
            status = response.status_code
            info = parse_rate_limit(response.headers)
            payload = _json_obj(body) if call.kind != "download" else {}
            trace_id = _opt_str(payload, "trace_id") or _header_trace_id(response)
            answer = _Answer(response, body, payload, trace_id)
            log.debug(
                "%s %s -> %d trace_id=%s attempt=%d",
                call.method,
                self._log_path(call),
                status,
                trace_id or "-",
                number,
            )
            if call.kind != "download":
                self._last_rate_limit = info
                self._gate.update(info)
            if 200 <= status < 300:
                return answer
            if status == 429 and call.kind != "download":
                if rate_limited >= self._policy.rate_limit_retries:
                    raise self._api_error(call, answer, info)
                wait = self._rate_limit_wait(info, rate_limited)
                if not call.resend_when_rate_limited:
                    self._gate.pause_for(wait)
                    raise self._api_error(call, answer, info)
                log.info(
                    "%s %s: rate limited (trace_id=%s); all requests wait %.1f s",
                    call.method,
                    self._log_path(call),
                    trace_id or "-",
                    wait,
                )
                self._gate.pause_for(wait)
                rate_limited += 1
                continue
            if _status_retryable(call.kind, status) and retries < self._max_retries:
                self._wait_before_retry(
                    call, retries, f"HTTP {status}", number, at_least=info.retry_after
                )
                retries += 1
                continue
            raise self._api_error(call, answer, info)

    def _attempt(
        self, call: _Call, attempt: _Attempt
    ) -> tuple[httpx.Response, bytes] | httpx.HTTPError:
        headers: dict[str, str] = {}
        content: Iterator[bytes] | None = None
        timeout = self._timeout
        if call.kind != "download":
            headers["Authorization"] = f"Bearer {self._api_key}"
            headers["X-Organization-Id"] = self._org_id
            headers["Accept"] = "application/json"
        if call.body is not None:
            headers["Content-Type"] = call.body.content_type
            headers["Content-Length"] = str(call.body.length)
            content = call.body.chunks(attempt, call.on_progress, call.cancel)
            timeout = self._upload_timeout
        request = self._http.build_request(
            call.method,
            call.url,
            params=call.params,
            headers=headers,
            content=content,
            timeout=timeout,
            extensions={"trace": attempt.trace},
        )
        with deadline(self._deadline_for(call)) as limit:
            try:
                response = self._http.send(request, stream=True)
                try:
                    body = _read_limited(response, call)
                finally:
                    response.close()
            except httpx.HTTPError as exc:
                if limit is not None and limit.expired:
                    return _TooSlow(f"no complete answer came back within {limit.seconds:g} s")
                return exc
        return response, body

    def _deadline_for(self, call: _Call) -> float:
        """The whole request's time limit: fixed for reads, by size for uploads and downloads
        (at least ``MIN_BYTES_PER_S`` on top of the read limit)."""
        size = call.body.length if call.body is not None else 0
        if call.kind == "download":
            size = call.max_bytes // 10  # a stored copy is far smaller than the refusal limit
        return self._deadline + size / MIN_BYTES_PER_S

    def _network_error(self, call: _Call, attempt: _Attempt, exc: httpx.HTTPError) -> NetworkError:
        host = _host(call.url)
        reason = self._scrub(_describe(exc, call, self._upload_timeout, self._timeout))
        log.debug("%s %s -> no answer (%s)", call.method, self._log_path(call), type(exc).__name__)
        # A read has no side effect, so for reads ``request_sent`` stays False: it would only
        # tell the user that "a copy may be stored", which is about uploads.
        if call.kind == "upload" and attempt.request_complete(has_body=True):
            return UploadOutcomeUnknown(
                f"The photo was sent to {host}, but {reason}; a copy may be stored."
            )
        if _tls_verification_failed(exc):
            return TlsNotVerified(f"No connection to {host}: {reason}.")
        return NetworkError(f"No answer from {host}: {reason}.", request_sent=False)

    def _wait_before_retry(
        self, call: _Call, retries: int, why: str, number: int, at_least: float | None = None
    ) -> None:
        delay = self._policy.backoff(retries)
        if at_least is not None:  # a 503 may say when to come back
            delay = min(max(delay, at_least), self._policy.max_rate_limit_wait)
        log.info(
            "%s %s: %s; sending again in %.1f s (attempt %d)",
            call.method,
            self._log_path(call),
            why,
            delay,
            number + 1,
        )
        if call.cancel is not None:
            if call.cancel.wait(delay):
                raise Cancelled("Cancelled while waiting to send again; nothing was stored.")
        else:
            time.sleep(delay)

    def _rate_limit_wait(self, info: RateLimitInfo, attempt: int) -> float:
        if info.retry_after is not None:
            wait = info.retry_after
        elif info.reset is not None:
            wait = info.reset - time.time()
        else:
            wait = self._policy.backoff(attempt)
        return min(max(wait, self._policy.min_rate_limit_wait), self._policy.max_rate_limit_wait)

    def _api_error(self, call: _Call, answer: _Answer, info: RateLimitInfo) -> ApiError:
        status = answer.response.status_code
        if call.kind == "download":
            return _download_error(status, answer.body)
        code = _opt_str(answer.payload, "code")
        message = _opt_str(answer.payload, "message")
        if not message:
            content_type = answer.response.headers.get("content-type", "")
            message = _no_details_message(status, content_type)
        cls = error_for_status(status)
        if call.kind == "upload" and cls is ServerError:
            cls = UploadServerError
        return cls(
            self._scrub(message),
            status=status,
            code=code,
            trace_id=answer.trace_id,
            rate_limit=info,
        )

    def _scrub(self, text: str) -> str:
        """Remove the key (and anything ``logsetup.redact`` finds key-shaped) from server text."""
        if self._api_key:
            text = text.replace(self._api_key, REDACTED)
        return redact(text)

    def _log_path(self, call: _Call) -> str:
        if call.kind == "download":
            return f"{_host(call.url)} (signed URL)"
        return urlsplit(call.url).path


# -- helpers ----------------------------------------------------------------------------------


def _header_value(value: str, what: str) -> str:
    """Refuse values that cannot travel in a header (never echoing them back)."""
    value = (value or "").strip()
    if not value or any(not (0x21 <= ord(ch) <= 0x7E) for ch in value):
        raise ValueError(f"The {what} is empty or contains characters a header cannot carry.")
    return value


@functools.lru_cache(maxsize=1)
def _default_tls_context() -> ssl.SSLContext:
    """One verifying context for the process (loading the CA bundle costs ~0.1 s per client)."""
    return httpx.create_ssl_context()


def _tls_context(verify: bool | str | ssl.SSLContext) -> ssl.SSLContext:
    """TLS is always verified: True (default CA bundle), a CA bundle path, or a strict context."""
    if verify is True:
        return _default_tls_context()
    if verify is False:
        raise ValueError("TLS certificate verification cannot be turned off.")
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    if verify.verify_mode != ssl.CERT_REQUIRED or not verify.check_hostname:
        raise ValueError("The TLS context must verify certificates and host names.")
    return verify


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


def _tls_verification_failed(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


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


def _download_error(status: int, body: bytes) -> ApiError:
    """S3 answers XML (``<Code>``, ``<Message>``); we keep our own words and its code."""
    text = body[:4096].decode("utf-8", "replace")
    code_match = re.search(r"<Code>([A-Za-z0-9_.-]{1,64})</Code>", text)
    code = code_match.group(1) if code_match else None
    if status == 403:
        return SignedUrlRefused(
            "The download link expired or was refused (HTTP 403"
            + (f", {code}" if code else "")
            + "); get a fresh link.",
            code=code,
        )
    if status >= 500:
        return ServerError(f"The storage server failed (HTTP {status}).", status=status, code=code)
    return ApiError(
        f"The stored copy could not be downloaded (HTTP {status}).",
        status=status,
        code=code or "download_failed",
    )


def _no_details_message(status: int, content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    if status == 413:
        return f"The server refused the file as too large (HTTP 413, {kind})."
    if status in (502, 503, 504):
        return f"A gateway in front of the API answered HTTP {status} without details ({kind})."
    return f"The server answered HTTP {status} without readable error details ({kind})."


def _header_trace_id(response: httpx.Response) -> str | None:
    for name in ("x-trace-id", "x-request-id", "trace-id"):
        value = response.headers.get(name)
        if isinstance(value, str) and value:
            return value[:128]
    return None


def _json_obj(body: bytes) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is not one."""
    try:
        value = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def _envelope(payload: Mapping[str, Any]) -> Any:
    """The ``data`` of a ``{"code": "success", "data": ...}`` answer."""
    if "data" not in payload:
        raise _BadAnswer("the answer has no 'data'")
    return payload["data"]


def _unreadable(detail: str) -> ServerError:
    return ServerError(
        f"The server's answer could not be read ({detail}).", status=200, code="invalid_response"
    )


def _parse(parser: Callable[[dict[str, Any]], T], data: dict[str, Any]) -> T:
    try:
        return parser(data)
    except _BadAnswer as exc:
        raise _unreadable(str(exc)) from None


def _obj(value: object) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _BadAnswer(f"expected an object, got {type(value).__name__}")
    return value


def _opt_str(obj: Mapping[str, Any], key: str) -> str | None:
    value = obj.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _req_str(obj: Mapping[str, Any], key: str) -> str:
    value = _opt_str(obj, key)
    if not value:
        raise _BadAnswer(f"'{key}' is missing")
    return value


def _num(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    return 0.0


def _int(value: object, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def _patient(d: Mapping[str, Any]) -> Patient:
    return Patient(
        id=_req_str(d, "id"),
        first_name=_opt_str(d, "firstName") or "",
        last_name=_opt_str(d, "lastName") or "",
        mrn=_opt_str(d, "mrn"),
        date_of_birth=_opt_str(d, "dateOfBirth"),
        gender=_opt_str(d, "gender"),
        middle_name=_opt_str(d, "middleName"),
    )


def _facility(d: Mapping[str, Any]) -> Facility:
    return Facility(
        id=_req_str(d, "id"), name=_opt_str(d, "name") or "", timezone=_opt_str(d, "timezone")
    )


def _provider(d: Mapping[str, Any]) -> Provider:
    can_finalize = d.get("canFinalize")
    return Provider(
        id=_req_str(d, "id"),
        first_name=_opt_str(d, "firstName") or "",
        last_name=_opt_str(d, "lastName") or "",
        display_first_name=_opt_str(d, "displayFirstName"),
        display_last_name=_opt_str(d, "displayLastName"),
        hidden=d.get("hidden") is True,
        can_finalize=can_finalize if isinstance(can_finalize, bool) else None,
        role_type=_opt_str(d, "roleType"),
    )


def _note(d: Mapping[str, Any]) -> Note:
    patient = d.get("patient")
    facility = d.get("facility")
    providers = d.get("assignedProviders") or []
    if not isinstance(providers, list):
        raise _BadAnswer("assignedProviders is not a list")
    version = d.get("version")
    return Note(
        id=_req_str(d, "id"),
        version=version if isinstance(version, int) and not isinstance(version, bool) else None,
        visit_date=_opt_str(d, "visitDate"),
        status=_opt_str(d, "status"),
        patient=_patient(_obj(patient)) if patient else None,
        facility=_facility(_obj(facility)) if facility else None,
        ehr_type=_opt_str(d, "ehrType"),
        assigned_providers=tuple(_provider(_obj(p)) for p in providers),
    )


def _page(
    data: Mapping[str, Any],
    key: str,
    parse: Callable[[Mapping[str, Any]], Any],
    page: int,
    page_size: int,
) -> Page:
    items = data.get(key)
    if not isinstance(items, list):
        raise _BadAnswer(f"'{key}' is not a list")
    meta = _obj(data.get("pagination"))
    return Page(
        items=[parse(_obj(item)) for item in items],
        pagination=Pagination(
            page=_int(meta.get("page"), page),
            page_size=_int(meta.get("pageSize"), page_size),
            total_count=_int(meta.get("totalCount"), len(items)),
            total_pages=_int(meta.get("totalPages"), page),
        ),
    )


def _page_params(page: int, page_size: int) -> dict[str, str]:
    if page < 1 or not 1 <= page_size <= 100:
        raise ValueError("page starts at 1 and page_size is 1 to 100.")
    return {"page": str(page), "pageSize": str(page_size)}


def _all_pages(fetch: Callable[[int], Page]) -> Iterator[Any]:
    """Loop while page <= totalPages (stopping early on an empty page)."""
    page = 1
    while True:
        result = fetch(page)
        yield from result.items
        if not result.items or page >= result.pagination.total_pages:
            return
        page += 1
