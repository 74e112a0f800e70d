"""What a failure means for a queued photo: its next state, a plain message and the next step.

One table for the engine, the window and the command line, so the same error always reads the
same way. The rule that matters most: anything that may have left a copy on the server
(502, an answer lost after sending, a server failure while handling the upload) needs the
user's decision; only failures that certainly stored nothing are retried by themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from maxupload.core.errors import (
    ApiError,
    AuthError,
    BadRequest,
    Cancelled,
    EhrSyncFailed,
    InsecureUrlError,
    MaxUploadError,
    NetworkError,
    NoteLocked,
    NotFound,
    RateLimited,
    ScopeError,
    ServerError,
    TlsNotVerified,
    VerificationError,
)
from maxupload.core.image_formats import ImageRejected
from maxupload.core.queue_store import ItemState, send_again_step
from maxupload.core.verify import CopyMismatch

Phase = Literal["prepare", "upload", "verify"]
Kind = Literal["retry_later", "needs_decision", "failed", "cancelled"]

_STATE_OF_KIND: dict[str, ItemState] = {
    "retry_later": ItemState.RETRY_LATER,
    "needs_decision": ItemState.NEEDS_DECISION,
    "failed": ItemState.FAILED,
    "cancelled": ItemState.CANCELLED,
}


@dataclass(frozen=True)
class Outcome:
    """A classified failure."""

    kind: Kind
    code: str
    message: str
    next_step: str
    trace_id: str | None = None

    @property
    def state(self) -> ItemState:
        return _STATE_OF_KIND[self.kind]


#: Answers that refuse the photo for good, in the user's words (``{}``: the server's message).
_REFUSALS: tuple[tuple[type[ApiError], str], ...] = (
    (AuthError, "The API key was rejected ({})."),
    (NotFound, "The note does not exist in this organization, or it cannot see it ({})."),
    (NoteLocked, "The note is signed and takes no more images ({})."),
    (BadRequest, "The server did not accept the photo: {}"),
)


def retry_step(item_id: int) -> str:
    return f"Fix the cause, then choose 'Retry' (maxupload queue retry {item_id})."


def classify(exc: BaseException, phase: Phase, item_id: int) -> Outcome:
    """Map an exception raised while working on item ``item_id`` to what happens next."""
    trace = getattr(exc, "trace_id", None)
    if isinstance(exc, Cancelled):
        if getattr(exc, "request_sent", False):
            return Outcome(
                "needs_decision",
                "cancelled_after_send",
                "Cancelled after the photo was sent; a copy may be stored in Max AI.",
                send_again_step(item_id),
            )
        return Outcome("cancelled", "cancelled", "Cancelled; nothing was sent.", exc.next_step)
    if isinstance(exc, RateLimited):
        return Outcome(
            "retry_later",
            exc.code,
            "The server kept answering 'too many requests'; nothing was stored.",
            "MaxUpload tries again by itself after a pause.",
            trace,
        )
    if isinstance(exc, EhrSyncFailed):
        return Outcome(
            "needs_decision",
            exc.code,
            "EHR sync failed: the photo may be stored in Max AI but did not reach the EHR "
            f"({exc.message}).",
            send_again_step(item_id),
            trace,
        )
    if isinstance(exc, TlsNotVerified):
        return Outcome("failed", "tls_not_verified", str(exc), retry_step(item_id))
    if isinstance(exc, NetworkError):
        if exc.request_sent and phase == "upload":
            return Outcome(
                "needs_decision",
                "no_answer",
                "The photo was sent but no answer came back; a copy may be stored in Max AI.",
                send_again_step(item_id),
            )
        return Outcome(
            "retry_later",
            "network",
            f"Could not reach the server; nothing was stored ({exc}).",
            "Check the network connection; MaxUpload tries again by itself.",
        )
    if isinstance(exc, ScopeError):
        scope = exc.required_scope
        what = f"the '{scope}' permission" if scope else "a permission"
        return Outcome(
            "failed",
            exc.code,
            f"The API key lacks {what} ({exc.message}).",
            exc.next_step,
            trace,
        )
    if isinstance(exc, NotFound) and phase == "verify":
        return Outcome(
            "retry_later",
            exc.code,
            f"The stored copy of the photo was not found on the server ({exc.message}).",
            "Open the note in the EHR to check the photo; MaxUpload checks again by itself.",
            trace,
        )
    for refusal, text in _REFUSALS:
        if isinstance(exc, refusal):
            return Outcome("failed", exc.code, text.format(exc.message), exc.next_step, trace)
    if isinstance(exc, ApiError):
        if phase == "upload" and (isinstance(exc, ServerError) or exc.status >= 500):
            return Outcome(
                "needs_decision",
                exc.code,
                f"The server failed while handling the photo (HTTP {exc.status}: "
                f"{exc.message}); a copy may be stored.",
                send_again_step(item_id),
                trace,
            )
        if exc.status >= 500:
            return Outcome(
                "retry_later",
                exc.code,
                f"The server had a problem (HTTP {exc.status}: {exc.message}).",
                "MaxUpload tries again by itself; if it keeps happening, contact support "
                "with the trace id.",
                trace,
            )
        return Outcome(
            "failed",
            exc.code,
            f"The server refused the photo (HTTP {exc.status}: {exc.message}).",
            retry_step(item_id),
            trace,
        )
    if isinstance(exc, CopyMismatch):
        return Outcome("needs_decision", "verify_mismatch", str(exc), exc.next_step)
    if isinstance(exc, VerificationError):
        return Outcome("retry_later", "verify_unavailable", str(exc), exc.next_step)
    if isinstance(exc, InsecureUrlError):
        return Outcome("failed", "insecure_url", str(exc), exc.next_step)
    if isinstance(exc, ImageRejected):
        return Outcome("failed", "unusable_file", f"The file cannot be used: {exc}", exc.next_step)
    if isinstance(exc, MaxUploadError):
        return Outcome("failed", getattr(exc, "code", None) or "error", str(exc), exc.next_step)
    if isinstance(exc, OSError):
        return Outcome(
            "failed",
            "file_unreadable",
            f"The file can no longer be read ({exc.strerror or exc}).",
            "Put the file back where it was, or add it again from where it is now.",
        )
    if phase == "upload":
        return Outcome(
            "needs_decision",
            "internal_error",
            f"Unexpected problem while sending ({type(exc).__name__}); a copy may be stored.",
            send_again_step(item_id),
        )
    return Outcome(
        "failed",
        "internal_error",
        f"Unexpected problem ({type(exc).__name__}: {exc}).",
        retry_step(item_id) + " If it keeps happening, contact support with the log file.",
    )
