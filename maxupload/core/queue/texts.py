"""What the queue tells the user about a photo it holds back or lost track of."""

from __future__ import annotations

from pathlib import Path

from maxupload.core.queue.model import GUARD_EXCLUDED_STATES, ItemState, QueueItem

INTERRUPTED_MESSAGE = (
    "MaxUpload stopped while this photo was being sent; a copy may be stored in Max AI."
)


def send_again_step(item_id: int) -> str:
    """The next step for a photo of which a copy may be stored."""
    return (
        "Check the note in the EHR. If the photo is not there, choose 'Send again' "
        f"(maxupload queue send-again {item_id})."
    )


def duplicate_message(earlier: QueueItem, item_id: int) -> tuple[str, str]:
    """The duplicate guard's message (naming the earlier photo by its file) and next step."""
    when = earlier.time("uploaded_at") or earlier.time("created_at")
    stamp = when.strftime("%Y-%m-%d %H:%M UTC") if when else "earlier"
    name = Path(earlier.source_path).name or earlier.file_name
    if earlier.image_id:
        what = f"already sent to this note on {stamp}"
    elif earlier.state == ItemState.NEEDS_DECISION or earlier.state in GUARD_EXCLUDED_STATES:
        what = "which may already be stored for this note"
    else:
        what = "already queued for this note"
    return (
        f"Same picture as {name}, {what}; this copy is skipped.",
        "Nothing to do if the note has it. To send this copy too, choose 'Include anyway' "
        f"(maxupload queue send-again {item_id}).",
    )
