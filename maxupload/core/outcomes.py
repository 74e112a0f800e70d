"""What happened to a photo, or to a request: one ``Outcome`` (kind, code, message, next step,
suggested action), worked out here once.

One table for the engine, the window and the command line, so the same error always reads the
same way; the window only picks a colour per kind and a button per action. The rule that
matters most: anything that may have left a copy on the server (502, an answer lost after
sending, a server failure while handling the upload) needs the user's decision; only failures
that certainly stored nothing are retried by themselves.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

from maxupload.core.api.errors import (
    ApiError,
    AuthError,
    BadRequest,
    Cancelled,
    EhrSyncFailed,
    ImageNotFound,
    InsecureUrlError,
    NetworkError,
    NoteLocked,
    NotFound,
    RateLimited,
    ScopeError,
    ServerError,
    TlsNotVerified,
    VerificationError,
)
from maxupload.core.api.verify import CopyMismatch
from maxupload.core.errors import MaxUploadError
from maxupload.core.imaging.formats import ImageRejected
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.texts import send_again_step
from maxupload.core.wording import join_hint, split_hint, without_echo

Phase = Literal["prepare", "upload", "verify"]


class OutcomeKind(enum.StrEnum):
    """What an outcome means for the user; the window picks a colour per kind."""

    OK = "ok"  # on the server (and verified, or verification under way)
    UNCONFIRMED = "unconfirmed"  # stored in Max AI, the EHR has not confirmed it: check the note
    WORKING = "working"  # queued or on its way; nothing for the user to do
    STAGED = "staged"  # added, not sent yet
    HELD = "held"  # a photo check holds it until the user acknowledges
    BLOCKED = "blocked"  # a photo check refuses it for this target
    SKIPPED = "skipped"  # the same picture is in the batch or on the note; sent only if included
    RETRY_LATER = "retry_later"
    NEEDS_DECISION = "needs_decision"
    FAILED = "failed"
    CANCELLED = "cancelled"


Kind = OutcomeKind


class Action(enum.StrEnum):
    """What a front end offers next to an outcome."""

    NONE = "none"
    SETTINGS = "settings"  # fix the key or organization
    CHOOSE_NOTE = "choose_note"  # pick another note
    SEND_AGAIN = "send_again"  # a copy may exist: re-send only after checking
    RETRY = "retry"  # safe to try again
    ACKNOWLEDGE = "acknowledge"  # confirm a held photo is meant for this note
    REMOVE = "remove"  # the photo cannot go to this note
    INCLUDE = "include"  # send a skipped copy of a picture after all


ACTION_LABELS: dict[Action, str] = {
    Action.SETTINGS: "Open Settings…",
    Action.CHOOSE_NOTE: "Choose another note",
    Action.SEND_AGAIN: "Send again…",
    Action.RETRY: "Retry",
    Action.INCLUDE: "Include anyway",
}

_STATE_OF_KIND: dict[str, ItemState] = {
    OutcomeKind.RETRY_LATER: ItemState.RETRY_LATER,
    OutcomeKind.NEEDS_DECISION: ItemState.NEEDS_DECISION,
    OutcomeKind.FAILED: ItemState.FAILED,
    OutcomeKind.CANCELLED: ItemState.CANCELLED,
}

#: Error codes whose suggested action does not follow from the outcome's kind.
_CODE_ACTIONS: dict[str, Action] = {
    "unauthorized": Action.SETTINGS,
    "forbidden": Action.SETTINGS,
    "conflict": Action.CHOOSE_NOTE,
    "not_found": Action.CHOOSE_NOTE,
    "settings": Action.SETTINGS,
    "other_day": Action.ACKNOWLEDGE,
    "label_mismatch": Action.REMOVE,
}
_KIND_ACTIONS: dict[str, Action] = {
    OutcomeKind.NEEDS_DECISION: Action.SEND_AGAIN,
    OutcomeKind.FAILED: Action.RETRY,
    OutcomeKind.CANCELLED: Action.RETRY,
    OutcomeKind.SKIPPED: Action.INCLUDE,
}


@dataclass(frozen=True)
class Outcome:
    """What happened, in the user's words: kind, code, message, next step, suggested action.

    ``next_step`` is for people (the window shows it as is); ``cli_hint`` is the command line
    that does the same in a terminal. A next step given with its command in parentheses is
    taken apart here, so no front end ever has to.
    """

    kind: OutcomeKind
    code: str
    message: str
    next_step: str
    trace_id: str | None = None
    action: Action = field(default=Action.NONE)
    cli_hint: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", OutcomeKind(self.kind))
        plain, hint = split_hint(self.next_step)
        object.__setattr__(self, "next_step", plain)
        object.__setattr__(self, "cli_hint", self.cli_hint or hint)
        if self.action is Action.NONE:
            action = _CODE_ACTIONS.get(self.code) or _KIND_ACTIONS.get(self.kind, Action.NONE)
            object.__setattr__(self, "action", action)

    @property
    def state(self) -> ItemState:
        return _STATE_OF_KIND[self.kind]

    @property
    def terminal_step(self) -> str:
        """The next step as the command line prints it (and the queue file keeps it)."""
        return join_hint(self.next_step, self.cli_hint)

    @property
    def summary(self) -> str:
        """The message (the name the status panel uses)."""
        return self.message

    def details(self, file_name: str = "") -> str:
        """A text block for the clipboard (support asks for the trace id)."""
        lines = [f"File: {file_name}"] if file_name else []
        lines.append(f"Problem: {self.message}")
        lines.append(f"Next step: {self.next_step}")
        if self.trace_id:
            lines.append(f"trace_id: {self.trace_id}")
        return "\n".join(lines)


#: Answers that refuse the photo for good, in the user's words (the server's message follows
#: in parentheses unless the words already say it).
_REFUSALS: tuple[tuple[type[ApiError], str], ...] = (
    (AuthError, "The API key was rejected"),
    (NotFound, "The note does not exist in this organization, or it cannot see it"),
    (NoteLocked, "The note is signed and takes no more images"),
    (BadRequest, "The server did not accept the photo"),
)


#: 4xx answers about the request itself, never about the photo in it.
_REQUEST_REFUSALS = {
    414: "address is too long",
    431: "headers are too large",
}


def gave_up_step(exc: BaseException, item_id: int) -> str:
    """The next step once MaxUpload has stopped trying again by itself, fitting the cause."""
    retry = f"choose 'Retry' (maxupload queue retry {item_id})"
    if isinstance(exc, RateLimited):
        return f"Max AI kept asking MaxUpload to slow down: wait a few minutes, then {retry}."
    if isinstance(exc, ApiError) and exc.status >= 500:
        return (
            f"The server kept failing: try again later ({retry}); if it keeps happening, "
            "contact support with the trace id."
        )
    if isinstance(exc, NotFound | VerificationError):
        return f"Open the note in the EHR to check the photo; to check again, {retry}."
    return f"MaxUpload stopped trying by itself: check the connection, then {retry}."


def retry_step(item_id: int) -> str:
    return f"Fix the cause, then choose 'Retry' (maxupload queue retry {item_id})."


def classify(exc: BaseException, phase: Phase, item_id: int) -> Outcome:
    """Map an exception raised while working on item ``item_id`` to what happens next."""
    trace = getattr(exc, "trace_id", None)
    if isinstance(exc, Cancelled):
        if getattr(exc, "request_sent", False):
            return Outcome(
                OutcomeKind.NEEDS_DECISION,
                "cancelled_after_send",
                "Cancelled after the photo was sent; a copy may be stored in Max AI.",
                send_again_step(item_id),
            )
        return Outcome(
            OutcomeKind.CANCELLED, "cancelled", "Cancelled; nothing was sent.", exc.next_step
        )
    if isinstance(exc, RateLimited):
        return Outcome(
            OutcomeKind.RETRY_LATER,
            exc.code,
            "The server kept answering 'too many requests'; nothing was stored.",
            "MaxUpload tries again by itself after a pause.",
            trace,
        )
    if isinstance(exc, EhrSyncFailed):
        return Outcome(
            OutcomeKind.NEEDS_DECISION,
            exc.code,
            without_echo(
                "EHR sync failed: the photo may be stored in Max AI but did not reach the EHR",
                exc.message,
            )
            + ".",
            send_again_step(item_id),
            trace,
        )
    if isinstance(exc, TlsNotVerified):
        return Outcome(OutcomeKind.FAILED, "tls_not_verified", str(exc), retry_step(item_id))
    if isinstance(exc, NetworkError):
        if exc.request_sent and phase == "upload":
            return Outcome(
                OutcomeKind.NEEDS_DECISION,
                "no_answer",
                "The photo was sent but no answer came back; a copy may be stored in Max AI.",
                send_again_step(item_id),
            )
        return Outcome(
            OutcomeKind.RETRY_LATER,
            "network",
            f"Could not reach the server; nothing was stored ({exc}).",
            "Check the network connection; MaxUpload tries again by itself.",
        )
    if isinstance(exc, ScopeError):
        scope = exc.required_scope
        what = f"the '{scope}' permission" if scope else "a permission"
        return Outcome(
            OutcomeKind.FAILED,
            exc.code,
            f"The API key lacks {what} ({exc.message}).",
            exc.next_step,
            trace,
        )
    if isinstance(exc, NotFound) and phase == "verify":
        return Outcome(
            OutcomeKind.RETRY_LATER,
            exc.code,
            f"The stored copy of the photo was not found on the server ({exc.message}).",
            "Open the note in the EHR to check the photo; MaxUpload checks again by itself.",
            trace,
        )
    for refusal, text in _REFUSALS:
        if isinstance(exc, refusal):
            words = without_echo(text, exc.message) + "."
            return Outcome(OutcomeKind.FAILED, exc.code, words, exc.next_step, trace)
    if isinstance(exc, ApiError):
        if phase == "upload" and (isinstance(exc, ServerError) or exc.status >= 500):
            return Outcome(
                OutcomeKind.NEEDS_DECISION,
                exc.code,
                f"The server failed while handling the photo (HTTP {exc.status}: "
                f"{exc.message}); a copy may be stored.",
                send_again_step(item_id),
                trace,
            )
        if exc.status >= 500:
            return Outcome(
                OutcomeKind.RETRY_LATER,
                exc.code,
                f"The server had a problem (HTTP {exc.status}: {exc.message}).",
                "MaxUpload tries again by itself; if it keeps happening, contact support "
                "with the trace id.",
                trace,
            )
        if exc.status in _REQUEST_REFUSALS:  # the request's address or headers, not the photo
            return Outcome(
                OutcomeKind.FAILED,
                exc.code,
                f"The server refused the request, not the photo: its "
                f"{_REQUEST_REFUSALS[exc.status]} (HTTP {exc.status}: {exc.message}); "
                "nothing was stored.",
                "Check the note id, provider id and organization (and any proxy in between), "
                f"then choose 'Retry' (maxupload queue retry {item_id}); if it keeps happening, "
                "contact support with the trace id.",
                trace,
            )
        return Outcome(
            OutcomeKind.FAILED,
            exc.code,
            f"The server refused the photo (HTTP {exc.status}: {exc.message}).",
            retry_step(item_id),
            trace,
        )
    if isinstance(exc, CopyMismatch):
        return Outcome(OutcomeKind.NEEDS_DECISION, "verify_mismatch", str(exc), exc.next_step)
    if isinstance(exc, VerificationError):
        return Outcome(OutcomeKind.RETRY_LATER, "verify_unavailable", str(exc), exc.next_step)
    if isinstance(exc, InsecureUrlError):
        return Outcome(OutcomeKind.FAILED, "insecure_url", str(exc), exc.next_step)
    if isinstance(exc, ImageRejected):
        return Outcome(
            OutcomeKind.FAILED, "unusable_file", f"The file cannot be used: {exc}", exc.next_step
        )
    if isinstance(exc, MaxUploadError):
        return Outcome(
            OutcomeKind.FAILED, getattr(exc, "code", None) or "error", str(exc), exc.next_step
        )
    if isinstance(exc, OSError):
        return Outcome(
            OutcomeKind.FAILED,
            "file_unreadable",
            f"The file can no longer be read ({exc.strerror or exc}).",
            "Put the file back where it was, or add it again from where it is now.",
        )
    if phase == "upload":
        return Outcome(
            OutcomeKind.NEEDS_DECISION,
            "internal_error",
            f"Unexpected problem while sending ({type(exc).__name__}); a copy may be stored.",
            send_again_step(item_id),
        )
    return Outcome(
        OutcomeKind.FAILED,
        "internal_error",
        f"Unexpected problem ({type(exc).__name__}: {exc}).",
        retry_step(item_id) + " If it keeps happening, contact support with the log file.",
    )


def describe_error(exc: BaseException) -> Outcome:
    """A failed request that is not about one queued photo (a search, a note, the key check),
    in the user's words; never includes request headers or the key."""
    trace = getattr(exc, "trace_id", None)
    step = getattr(exc, "next_step", "") or "Try again; if it keeps happening, contact support."
    failed = OutcomeKind.FAILED
    if getattr(exc, "window_action", None) == Action.SETTINGS:
        return Outcome(failed, "settings", str(exc), step, None, Action.SETTINGS)
    if isinstance(exc, AuthError):
        return Outcome(failed, exc.code, "Max AI did not accept the API key.", step, trace)
    if isinstance(exc, ScopeError):
        text = f"The API key is missing a permission: {exc.message}"
        return Outcome(failed, exc.code, text, step, trace, Action.SETTINGS)
    if isinstance(exc, NoteLocked):
        text = "The note is signed and takes no more photos."
        return Outcome(failed, exc.code, text, step, trace, Action.CHOOSE_NOTE)
    if isinstance(exc, ImageNotFound):
        text = f"The stored photo was not found in Max AI ({exc.message})."
        return Outcome(failed, "image_not_found", text, step, trace)  # not "pick another note"
    if isinstance(exc, NotFound):
        text = "The note was not found in this organization."
        return Outcome(failed, exc.code, text, step, trace, Action.CHOOSE_NOTE)
    if isinstance(exc, RateLimited):
        text = "Max AI asked MaxUpload to slow down."
        return Outcome(OutcomeKind.RETRY_LATER, exc.code, text, step, trace, Action.NONE)
    if isinstance(exc, EhrSyncFailed):
        text = "EHR push failed; a copy may be stored in Max AI."
        return Outcome(OutcomeKind.NEEDS_DECISION, exc.code, text, step, trace)
    if isinstance(exc, ApiError):
        return Outcome(failed, exc.code, exc.message, step, trace, Action.RETRY)
    if isinstance(exc, NetworkError):
        if exc.request_sent:
            return Outcome(OutcomeKind.NEEDS_DECISION, "no_answer", str(exc), step)
        return Outcome(failed, "network", str(exc), step, None, Action.RETRY)
    if isinstance(exc, MaxUploadError):
        code = getattr(exc, "code", None) or "error"
        return Outcome(failed, code, str(exc), step, trace, Action.RETRY)
    if isinstance(exc, OSError):
        return Outcome(
            failed,
            "file_unreadable",
            f"Could not read or write a file: {exc.strerror or exc}",
            "Check that the file still exists and that MaxUpload may read it.",
            None,
            Action.RETRY,
        )
    return Outcome(
        failed,
        "internal_error",
        f"Unexpected problem ({type(exc).__name__}).",
        "Try again; if it keeps happening, send the log to support.",
        trace,
        Action.RETRY,
    )
