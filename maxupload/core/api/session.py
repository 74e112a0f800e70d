"""ApiSession: sends one organization's API calls with the retry rules, raising typed errors.

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
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx

from maxupload import USER_AGENT
from maxupload.core.api.calls import (
    MIN_BYTES_PER_S,
    READ_DEADLINE_S,
    RetryPolicy,
    _Answer,
    _Attempt,
    _Call,
    _check_cancel,
    _describe,
    _header_value,
    _host,
    _read_limited,
    _status_retryable,
    _TooSlow,
    _transient,
    check_url,
)
from maxupload.core.api.errors import (
    ApiError,
    Cancelled,
    NetworkError,
    RateLimitInfo,
    ServerError,
    TlsNotVerified,
    UploadOutcomeUnknown,
    UploadServerError,
    error_for_status,
)
from maxupload.core.api.ratelimit import RateGate
from maxupload.core.api.transport import (
    deadline,
    make_http_client,
    tls_context,
    tls_verification_failed,
)
from maxupload.core.api.wire import (
    _BadAnswer,
    _download_error,
    _envelope,
    _header_trace_id,
    _json_obj,
    _no_details_message,
    _obj,
    _opt_str,
    _unreadable,
    parse_rate_limit,
)
from maxupload.core.system.logsetup import REDACTED, redact

log = logging.getLogger(__name__)


class ApiSession:
    """Calls for one organization and key, sent with the retry rules above. Thread-safe; close
    it when done. ``ApiClient`` adds the endpoints."""

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
            tls_context(verify),
            headers={"User-Agent": USER_AGENT},
            timeout=self._timeout,
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            event_hooks=dict(event_hooks) if event_hooks else None,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, org_id={self._org_id!r})"

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
        if tls_verification_failed(exc):
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
