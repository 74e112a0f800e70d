"""Copies of one picture: the copy is skipped by default, and sent only when the user includes it.

Two cases, one rule. A picture added twice to the list (the same content under two names) is
staged twice, and the later copy carries the mark, before anything is sent. A picture already
sent, on its way or perhaps stored for the note is held by the queue's duplicate guard when it
is queued (one already in the EHR is withdrawn at once, the photo on the note standing for
it). Every such copy reads "Same picture as <file>, …; this copy is skipped", and the user
can send it after all with "Include anyway" (``maxupload queue send-again`` in a terminal).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from maxupload.core.outcomes import Action, Outcome, OutcomeKind
from maxupload.core.queue.model import ItemState, QueueItem
from maxupload.core.queue.store import QueueStore

#: The error code the duplicate guard (and the staging mark) leave on a copy.
DUPLICATE = "duplicate"

_IN_BATCH_STEP = (
    "Nothing to do: the picture is sent once. To send this copy too, choose 'Include anyway'."
)


class SendAgain(Protocol):
    def send_again(self, item_id: int, *, confirm_duplicate: bool = False) -> QueueItem: ...

    def retry(self, item_id: int) -> QueueItem: ...


#: The code of a copy not queued because the picture is already in the EHR for the note.
ALREADY_SENT = "already_sent"


def is_skipped_copy(item: QueueItem) -> bool:
    """A copy of a picture that is not sent unless the user includes it."""
    if item.duplicate_ok:
        return False
    if item.error_code == ALREADY_SENT:
        return item.state == ItemState.CANCELLED
    return item.error_code == DUPLICATE and item.state in (
        ItemState.STAGED,
        ItemState.NEEDS_DECISION,
    )


def copy_outcome(item: QueueItem) -> Outcome:
    """The outcome of a skipped copy: the warning names the other photo, in full."""
    return Outcome(
        OutcomeKind.SKIPPED,
        DUPLICATE,
        item.error_message or "Same picture as another photo; this copy is skipped.",
        item.next_step or _IN_BATCH_STEP,
        item.trace_id,
        Action.INCLUDE,
    )


def mark_copies(store: QueueStore, staged: Sequence[QueueItem]) -> list[QueueItem]:
    """Mark each staged photo whose picture (same content) is listed earlier as its copy.

    The earliest photo of a picture stays as it is; every later one is marked, whether it came
    in the same drop or a later one. Returns the items as they are now."""
    listed = [i for i in store.items(states=[ItemState.STAGED]) if not i.hidden]
    first: dict[str, QueueItem] = {}
    for item in sorted(listed, key=lambda i: i.id):
        if item.sha256_original and not item.duplicate_of:
            first.setdefault(item.sha256_original, item)
    out: list[QueueItem] = []
    for item in staged:
        original = first.get(item.sha256_original)
        if original is None or original.id >= item.id or item.duplicate_ok:
            out.append(item)
            continue
        name = Path(original.source_path).name
        out.append(
            store.update(
                item.id,
                message=f"the same picture as {name}, listed earlier",
                duplicate_of=original.id,
                error_code=DUPLICATE,
                error_message=f"Same picture as {name}, also in this batch; this copy is skipped.",
                next_step=_IN_BATCH_STEP,
            )
        )
    return out


def release_copies(store: QueueStore, original_id: int) -> list[QueueItem]:
    """The original was taken off the list: its staged copies are photos in their own right."""
    out = []
    for item in store.items(states=[ItemState.STAGED]):
        if item.duplicate_of == original_id and item.error_code == DUPLICATE:
            out.append(_cleared(store, item, "the photo it copied was removed"))
    return out


def include(store: QueueStore, engine: SendAgain, item_id: int) -> QueueItem:
    """Send a skipped copy after all: a staged one goes with the batch, a held one is sent."""
    item = store.get(item_id)
    if item.state == ItemState.STAGED:
        return _cleared(store, item, "included by the user", duplicate_ok=True)
    if item.state == ItemState.CANCELLED:  # withdrawn as already in the EHR: queue it again
        store.update(item_id, message="included by the user", duplicate_ok=True)
        return engine.retry(item_id)
    return engine.send_again(item_id, confirm_duplicate=True)


def _cleared(store: QueueStore, item: QueueItem, why: str, duplicate_ok: bool = False) -> QueueItem:
    return store.update(
        item.id,
        expect={ItemState.STAGED},
        message=why,
        duplicate_of=None,
        duplicate_ok=duplicate_ok,
        error_code=None,
        error_message=None,
        next_step=None,
    )
