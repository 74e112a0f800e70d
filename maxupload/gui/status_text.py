"""Plain words and an accent colour for each photo state (API reference section 9).

Accents are mid-tones that read on both light and dark palettes; everything else follows the
system palette.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from maxupload.core.outcomes import OutcomeKind
from maxupload.core.queue_store import ItemState


class Tone(enum.StrEnum):
    """The kind of state, which decides the accent colour."""

    NEUTRAL = "neutral"
    BUSY = "busy"
    SUCCESS = "success"
    WARNING = "warning"
    MUTED = "muted"
    ERROR = "error"


#: Accent colours per tone (hex), chosen to keep contrast on light and dark backgrounds.
ACCENTS: dict[Tone, str] = {
    Tone.NEUTRAL: "#7b8794",
    Tone.BUSY: "#2f7fd8",
    Tone.SUCCESS: "#2f9e44",
    Tone.WARNING: "#d98a06",
    Tone.MUTED: "#8a8f98",
    Tone.ERROR: "#e03131",
}


#: The colour of each kind of outcome (the meaning itself comes from the core).
KIND_TONES: dict[OutcomeKind, Tone] = {
    OutcomeKind.OK: Tone.SUCCESS,
    OutcomeKind.WORKING: Tone.BUSY,
    OutcomeKind.STAGED: Tone.NEUTRAL,
    OutcomeKind.HELD: Tone.WARNING,
    OutcomeKind.BLOCKED: Tone.ERROR,
    OutcomeKind.RETRY_LATER: Tone.BUSY,
    OutcomeKind.NEEDS_DECISION: Tone.ERROR,
    OutcomeKind.FAILED: Tone.ERROR,
    OutcomeKind.CANCELLED: Tone.MUTED,
}


@dataclass(frozen=True)
class StatusText:
    """What the photo list shows for one state: a short label, a longer hint, a tone."""

    label: str
    hint: str
    tone: Tone


_BY_STATE: dict[ItemState, StatusText] = {
    ItemState.STAGED: StatusText(
        "Not sent yet", "Confirm the patient, then press Upload.", Tone.NEUTRAL
    ),
    ItemState.QUEUED: StatusText(
        "Waiting to send", "In the queue; it is sent in turn.", Tone.NEUTRAL
    ),
    ItemState.PREPARING: StatusText("Preparing", "Resizing and removing location data.", Tone.BUSY),
    ItemState.READY: StatusText("Ready to send", "Prepared; it is sent in turn.", Tone.BUSY),
    ItemState.UPLOADING: StatusText("Sending", "Sending to Max AI.", Tone.BUSY),
    ItemState.PENDING_UPLOAD: StatusText(
        "Saved to Max AI, not confirmed in the EHR",
        "Max AI stored the photo but has not confirmed it in the EHR: check the note in the EHR. "
        "MaxUpload does not send it again by itself.",
        Tone.WARNING,
    ),
    ItemState.SYNCED: StatusText("In EHR", "Stored and pushed to the EHR.", Tone.SUCCESS),
    ItemState.VERIFIED: StatusText(
        "In EHR, verified", "Stored, pushed to the EHR, and the stored copy matches.", Tone.SUCCESS
    ),
    ItemState.ARCHIVED: StatusText(
        "Archived", "Max AI reports this photo as archived; it is not sent again.", Tone.MUTED
    ),
    ItemState.RETRY_LATER: StatusText(
        "Will retry", "Not sent yet because of a temporary problem; MaxUpload retries.", Tone.BUSY
    ),
    ItemState.NEEDS_DECISION: StatusText(
        "EHR push failed; a copy may be stored in Max AI",
        "Check the note in the EHR before choosing 'Send again'.",
        Tone.ERROR,
    ),
    ItemState.FAILED: StatusText("Failed", "Not sent. See the details below.", Tone.ERROR),
    ItemState.CANCELLED: StatusText("Cancelled", "Not sent. Use Retry to send it.", Tone.MUTED),
}


def status_text(state: str, server_status: str | None = None) -> StatusText:
    """The words for a photo in ``state``; an unknown server status is shown as it came."""
    if state == ItemState.VERIFIED and server_status and server_status != ItemState.SYNCED:
        if server_status == ItemState.PENDING_UPLOAD:
            return StatusText(
                "Saved to Max AI, not confirmed in the EHR (copy verified)",
                _BY_STATE[ItemState.PENDING_UPLOAD].hint,
                Tone.WARNING,
            )
        if server_status == ItemState.ARCHIVED:
            return _BY_STATE[ItemState.ARCHIVED]
        return _unknown(server_status)
    known = _BY_STATE.get(ItemState(state)) if state in _BY_STATE else None
    if known is not None:
        return known
    return _unknown(state)


def _unknown(value: str) -> StatusText:
    return StatusText(
        f"Status '{value}', not confirmed",
        "Max AI answered with a status MaxUpload does not know: check the note in the EHR.",
        Tone.WARNING,
    )
