"""What the queue tells the user about a photo it holds back or lost track of."""

from __future__ import annotations

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
    """The duplicate guard's message and next step, naming the earlier item."""
    when = earlier.time("uploaded_at") or earlier.time("created_at")
    stamp = when.strftime("%Y-%m-%d %H:%M UTC") if when else "earlier"
    if earlier.image_id:
        what = f"was already sent to this note on {stamp} (item {earlier.id}, {earlier.image_id})"
    elif earlier.state == ItemState.NEEDS_DECISION:
        what = f"may already be stored for this note (item {earlier.id}, {earlier.state})"
    elif earlier.state in GUARD_EXCLUDED_STATES:
        what = f"may already be stored for this note (an earlier attempt of item {earlier.id})"
    else:
        what = f"is already in the queue for this note (item {earlier.id}, {earlier.state})"
    return (
        f"This photo {what}.",
        "Check the note; to send it anyway choose 'Send again' "
        f"(maxupload queue send-again {item_id}), or remove this item.",
    )
