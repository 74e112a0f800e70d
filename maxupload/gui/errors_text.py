"""One plain-language message, next step and action for every error the window can meet."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from maxupload.core.errors import (
    ApiError,
    AuthError,
    EhrSyncFailed,
    MaxUploadError,
    NetworkError,
    NoteLocked,
    NotFound,
    RateLimited,
    ScopeError,
)


class Action(enum.StrEnum):
    """What the window offers next to an error."""

    NONE = "none"
    SETTINGS = "settings"  # fix the key or organization
    CHOOSE_NOTE = "choose_note"  # pick another note
    SEND_AGAIN = "send_again"  # a copy may exist: re-send only after checking
    RETRY = "retry"  # safe to try again


ACTION_LABELS = {
    Action.SETTINGS: "Open Settings…",
    Action.CHOOSE_NOTE: "Choose another note",
    Action.SEND_AGAIN: "Send again…",
    Action.RETRY: "Retry",
}


@dataclass(frozen=True)
class ErrorText:
    """What the status panel shows for one error."""

    summary: str
    next_step: str
    trace_id: str | None
    action: Action

    def details(self, file_name: str = "") -> str:
        """A text block for the clipboard (support asks for the trace id)."""
        lines = []
        if file_name:
            lines.append(f"File: {file_name}")
        lines.append(f"Problem: {self.summary}")
        lines.append(f"Next step: {self.next_step}")
        if self.trace_id:
            lines.append(f"trace_id: {self.trace_id}")
        return "\n".join(lines)


def describe_error(exc: BaseException) -> ErrorText:
    """The window's words for ``exc``; never includes request headers or the key."""
    trace = getattr(exc, "trace_id", None)
    if getattr(exc, "window_action", None) == Action.SETTINGS:
        return ErrorText(str(exc), getattr(exc, "next_step", ""), None, Action.SETTINGS)
    if isinstance(exc, AuthError):
        return ErrorText(
            "Max AI did not accept the API key.", exc.next_step, trace, Action.SETTINGS
        )
    if isinstance(exc, ScopeError):
        return ErrorText(
            f"The API key is missing a permission: {exc.message}",
            exc.next_step,
            trace,
            Action.SETTINGS,
        )
    if isinstance(exc, NoteLocked):
        return ErrorText(
            "The note is signed and takes no more photos.",
            exc.next_step,
            trace,
            Action.CHOOSE_NOTE,
        )
    if isinstance(exc, NotFound):
        return ErrorText(
            "The note was not found in this organization.",
            exc.next_step,
            trace,
            Action.CHOOSE_NOTE,
        )
    if isinstance(exc, RateLimited):
        return ErrorText("Max AI asked MaxUpload to slow down.", exc.next_step, trace, Action.NONE)
    if isinstance(exc, EhrSyncFailed):
        return ErrorText(
            "EHR push failed; a copy may be stored in Max AI.",
            exc.next_step,
            trace,
            Action.SEND_AGAIN,
        )
    if isinstance(exc, ApiError):
        return ErrorText(exc.message, exc.next_step, trace, Action.RETRY)
    if isinstance(exc, NetworkError):
        action = Action.SEND_AGAIN if exc.request_sent else Action.RETRY
        return ErrorText(str(exc), exc.next_step, None, action)
    if isinstance(exc, MaxUploadError):
        return ErrorText(str(exc), exc.next_step, trace, Action.RETRY)
    if isinstance(exc, OSError):
        return ErrorText(
            f"Could not read or write a file: {exc.strerror or exc}",
            "Check that the file still exists and that MaxUpload may read it.",
            None,
            Action.RETRY,
        )
    return ErrorText(
        f"Unexpected problem ({type(exc).__name__}).",
        "Try again; if it keeps happening, send the log to support.",
        trace,
        Action.RETRY,
    )


#: Error kinds the engine may record on a queue item, mapped like the exceptions above.
_KIND_ACTIONS = {
    "auth": Action.SETTINGS,
    "unauthorized": Action.SETTINGS,
    "scope": Action.SETTINGS,
    "forbidden": Action.SETTINGS,
    "locked": Action.CHOOSE_NOTE,
    "conflict": Action.CHOOSE_NOTE,
    "not_found": Action.CHOOSE_NOTE,
    "ehr_sync_failed": Action.SEND_AGAIN,
    "unexpected_integration_error": Action.SEND_AGAIN,
    "outcome_unknown": Action.SEND_AGAIN,
    "no_answer": Action.SEND_AGAIN,
    "duplicate": Action.SEND_AGAIN,
    "cancelled_after_send": Action.SEND_AGAIN,
}


def action_for_kind(kind: str, status: int | None = None, state: str = "") -> Action:
    """The action for an error recorded as a code string or HTTP status, in item ``state``."""
    if kind in _KIND_ACTIONS:
        return _KIND_ACTIONS[kind]
    if state == "needs_decision":
        return Action.SEND_AGAIN
    if state == "retry_later":
        return Action.NONE
    by_status = {
        401: Action.SETTINGS,
        403: Action.SETTINGS,
        404: Action.CHOOSE_NOTE,
        409: Action.CHOOSE_NOTE,
        502: Action.SEND_AGAIN,
    }
    if status in by_status:
        return by_status[status]
    return Action.RETRY


def describe_item_error(
    state: str, code: str, message: str, next_step: str, trace_id: str | None
) -> ErrorText:
    """The window's words for an error the engine recorded on a queue item."""
    return ErrorText(
        message or "Something went wrong with this photo.",
        next_step or "Try again; if it keeps happening, contact support with the trace id.",
        trace_id,
        action_for_kind(code, state=state),
    )
