"""Typed errors of the API. Each maps to one plain-language message and one next step for the user.

No error text ever contains the API key: messages are built from the server's body and our own
wording, never from request headers.
"""

from __future__ import annotations

from dataclasses import dataclass

from maxupload.core.errors import MaxUploadError


class InsecureUrlError(MaxUploadError):
    """A plain http:// base URL that does not point at this computer."""

    default_next_step = "Use an https:// address (plain http is allowed only for this computer)."


class Cancelled(MaxUploadError):
    """The user cancelled the operation."""

    default_next_step = "Nothing was sent. Start the upload again when ready."


@dataclass(frozen=True)
class RateLimitInfo:
    """The X-RateLimit-* headers of one response (each may be absent)."""

    limit: int | None = None
    remaining: int | None = None
    reset: int | None = None  # Unix seconds
    retry_after: float | None = None  # seconds, 429 only


class ApiError(MaxUploadError):
    """An HTTP error answer from the API, carrying the server's code, message and trace id."""

    status: int = 0
    default_code = "error"
    default_next_step = "Try again; if it keeps happening, contact support with the trace id."
    #: True when the server may already hold a copy of an upload that reported this error.
    copy_may_exist = False
    #: True when the same request may be re-sent automatically.
    retryable = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        trace_id: str | None = None,
        rate_limit: RateLimitInfo | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code or self.default_code
        self.trace_id = trace_id
        self.rate_limit = rate_limit or RateLimitInfo()

    def __str__(self) -> str:
        text = f"{self.message} (HTTP {self.status}, {self.code})"
        if self.trace_id:
            text += f" [trace_id {self.trace_id}]"
        return text


class BadRequest(ApiError):
    status = 400
    default_code = "bad_request"
    default_next_step = (
        "Check the note, provider and file; the server named what it did not accept."
    )


class AuthError(ApiError):
    status = 401
    default_code = "unauthorized"
    default_next_step = (
        "The API key was rejected: open Settings (or run 'maxupload key set') "
        "and enter a valid key."
    )


class ScopeError(ApiError):
    status = 403
    default_code = "forbidden"

    @property
    def required_scope(self) -> str | None:
        marker = "Required:"
        if marker in self.message:
            return self.message.split(marker, 1)[1].strip().rstrip(".") or None
        return None

    @property
    def next_step(self) -> str:
        scope = self.required_scope
        if scope:
            return (
                f"This API key lacks the '{scope}' permission: ask your Max AI administrator "
                "for a key that includes it."
            )
        return "This API key lacks a permission: ask your Max AI administrator for a new key."


class NotFound(ApiError):
    status = 404
    default_code = "not_found"
    default_next_step = (
        "The note does not exist in this organization or is not visible to it: "
        "check the note id and organization, then pick the note again."
    )


class ImageNotFound(NotFound):
    """A stored photo's link was not found (404): not the same as a missing note."""

    default_next_step = (
        "Open the note in the EHR to check the photo; if it is not there, send it again."
    )

    @classmethod
    def from_not_found(cls, exc: NotFound) -> ImageNotFound:
        return cls(
            exc.message,
            status=exc.status,
            code=exc.code,
            trace_id=exc.trace_id,
            rate_limit=exc.rate_limit,
        )


class NoteLocked(ApiError):
    status = 409
    default_code = "conflict"
    default_next_step = (
        "The note is signed and takes no more images: ask the provider to add an addendum "
        "or choose another note."
    )


class RateLimited(ApiError):
    status = 429
    default_code = "rate_limit_exceeded"
    retryable = True
    default_next_step = "Too many requests: MaxUpload waits and sends again by itself."

    @property
    def retry_after(self) -> float | None:
        return self.rate_limit.retry_after


class EhrSyncFailed(ApiError):
    status = 502
    default_code = "unexpected_integration_error"
    copy_may_exist = True
    default_next_step = (
        "The photo may already be stored in Max AI but did not reach the EHR: check the note "
        "in the EHR before choosing 'Send again'."
    )


class ServerError(ApiError):
    status = 500
    default_code = "internal_error"
    default_next_step = (
        "The Max AI server had a problem: try again later; give support the trace id."
    )


class UploadServerError(ServerError):
    """A 5xx other than 502 answered an upload: the server may have stored the photo first."""

    copy_may_exist = True
    default_next_step = (
        "The server failed while taking the photo, so a copy may be stored: check the note "
        "in the EHR before choosing 'Send again'."
    )


class SignedUrlRefused(ApiError):
    """A signed download link answered 403: it expired or was refused; ask for a fresh one."""

    status = 403
    default_code = "signed_url_refused"
    default_next_step = "The download link expired or was refused: get a fresh link and try again."


class NetworkError(MaxUploadError):
    """No HTTP answer at all. ``request_sent`` tells whether the server may have the request."""

    def __init__(self, message: str, *, request_sent: bool) -> None:
        super().__init__(message)
        self.request_sent = request_sent

    @property
    def copy_may_exist(self) -> bool:
        return self.request_sent

    @property
    def next_step(self) -> str:
        if self.request_sent:
            return (
                "The upload was sent but no answer came back, so a copy may be stored: check "
                "the note before choosing 'Send again'."
            )
        return "Could not reach the server: check the network connection; MaxUpload retries."


class TlsNotVerified(NetworkError):
    """The server's certificate could not be verified: nothing was sent, and retrying by
    itself cannot help."""

    def __init__(self, message: str) -> None:
        super().__init__(message, request_sent=False)

    @property
    def next_step(self) -> str:
        return (
            "Check the computer's date and time; behind a clinic proxy that inspects TLS, ask IT "
            "for its certificate (SSL_CERT_FILE). Then try again."
        )


class UploadOutcomeUnknown(NetworkError):
    """An upload was sent and then timed out or lost its connection: a copy may be stored."""

    def __init__(self, message: str) -> None:
        super().__init__(message, request_sent=True)


class VerificationError(MaxUploadError):
    """The stored copy could not be fetched or does not match what was sent."""

    default_next_step = (
        "Open the note in the EHR to check the photo, then use 'Send again' if it is wrong."
    )


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: AuthError,
    403: ScopeError,
    404: NotFound,
    409: NoteLocked,
    429: RateLimited,
    502: EhrSyncFailed,
}


def error_for_status(status: int) -> type[ApiError]:
    """The error class for an HTTP status (unknown codes are decided by status)."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return ApiError
