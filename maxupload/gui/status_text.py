"""Plain words and an accent colour for each photo state (API reference section 9).

Accents are mid-tones that read on both light and dark palettes; everything else follows the
system palette.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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


@dataclass(frozen=True)
class StatusText:
    """What the photo list shows for one state: a short label, a longer hint, a tone."""

    label: str
    hint: str
    tone: Tone


_BY_STATE: dict[str, StatusText] = {
    "staged": StatusText("Not sent yet", "Confirm the patient, then press Upload.", Tone.NEUTRAL),
    "queued": StatusText("Waiting to send", "In the queue; it is sent in turn.", Tone.NEUTRAL),
    "preparing": StatusText("Preparing", "Resizing and removing location data.", Tone.BUSY),
    "ready": StatusText("Ready to send", "Prepared; it is sent in turn.", Tone.BUSY),
    "uploading": StatusText("Sending", "Sending to Max AI.", Tone.BUSY),
    "pending_upload": StatusText(
        "Saved to Max AI, not confirmed in the EHR",
        "Max AI stored the photo but has not confirmed it in the EHR: check the note in the EHR. "
        "MaxUpload does not send it again by itself.",
        Tone.WARNING,
    ),
    "synced": StatusText("In EHR", "Stored and pushed to the EHR.", Tone.SUCCESS),
    "verified": StatusText(
        "In EHR, verified", "Stored, pushed to the EHR, and the stored copy matches.", Tone.SUCCESS
    ),
    "archived": StatusText(
        "Archived", "Max AI reports this photo as archived; it is not sent again.", Tone.MUTED
    ),
    "retry_later": StatusText(
        "Will retry", "Not sent yet because of a temporary problem; MaxUpload retries.", Tone.BUSY
    ),
    "needs_decision": StatusText(
        "EHR push failed; a copy may be stored in Max AI",
        "Check the note in the EHR before choosing 'Send again'.",
        Tone.ERROR,
    ),
    "failed": StatusText("Failed", "Not sent. See the details below.", Tone.ERROR),
    "cancelled": StatusText("Cancelled", "Not sent. Use Retry to send it.", Tone.MUTED),
}

#: States after which nothing more happens to a photo without the user.
FINAL_STATES = frozenset(
    {"pending_upload", "synced", "verified", "archived", "needs_decision", "failed", "cancelled"}
)
#: States in which the photo is still on its way.
ACTIVE_STATES = frozenset({"queued", "preparing", "ready", "uploading", "retry_later"})
#: States in which the server holds a copy (a signed URL can be asked for).
STORED_STATES = frozenset({"pending_upload", "synced", "verified", "archived"})


def status_text(state: str, server_status: str | None = None) -> StatusText:
    """The words for a photo in ``state``; an unknown server status is shown as it came."""
    if state == "verified" and server_status and server_status != "synced":
        if server_status == "pending_upload":
            return StatusText(
                "Saved to Max AI, not confirmed in the EHR (copy verified)",
                _BY_STATE["pending_upload"].hint,
                Tone.WARNING,
            )
        if server_status == "archived":
            return _BY_STATE["archived"]
        return _unknown(server_status)
    known = _BY_STATE.get(state)
    if known is not None:
        return known
    return _unknown(state)


def _unknown(value: str) -> StatusText:
    return StatusText(
        f"Status '{value}', not confirmed",
        "Max AI answered with a status MaxUpload does not know: check the note in the EHR.",
        Tone.WARNING,
    )
