"""Sending photos that failed for one note to another note.

A queued photo's note is written once (``QueueStore.bind``) and never changed. A photo the
server refused for its note (signed: 409, gone: 404) stored nothing, so it may go elsewhere:
it is added again as a new photo, not sent yet (``staged``), and the failed item leaves the
list (kept on file for the history and the duplicate guard). The new photo then takes the
normal path: the photo checks against the note the user picks, a fresh confirmation of that
patient covering it, and Upload. Nothing of the old note's confirmation carries over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from maxupload.core.queue.model import ItemState, QueueItem, StagedEntry
from maxupload.core.queue.store import QueueStore

#: States of a photo that stored nothing and waits for the user: it may go to another note.
MOVABLE_STATES = frozenset({ItemState.FAILED, ItemState.CANCELLED})


class Remover(Protocol):
    """What moving needs of the upload engine: take the old item off the list."""

    def remove(self, item_id: int) -> QueueItem: ...


def can_move(item: QueueItem) -> bool:
    """True when ``item`` stored nothing on the server and is not on its way."""
    return item.state in MOVABLE_STATES and not item.reached_server and not item.hidden


@dataclass
class MoveResult:
    """What ``move_to_new_batch`` did: new staged photos, and the items they replace."""

    staged: list[QueueItem] = field(default_factory=list)
    replaced: dict[int, int] = field(default_factory=dict)  # old item id -> new staged id
    kept: list[QueueItem] = field(default_factory=list)  # not movable (stored or on its way)


def move_to_new_batch(store: QueueStore, engine: Remover, ids: Sequence[int]) -> MoveResult:
    """Add the photos of ``ids`` again as staged (for the note the user picks next) and take
    the failed items off the list. Photos that may be stored, or are on their way, are kept."""
    result = MoveResult()
    for item_id in ids:
        old = store.get(int(item_id))
        if not can_move(old):
            result.kept.append(old)
            continue
        entry = StagedEntry(
            source_path=Path(old.source_path),
            size=old.size_original,
            sha256=old.sha256_original,
            captured_at=old.captured_at,
            label_codes=old.label_codes,
            facts_read=old.facts_read,
        )
        (new,) = store.stage([entry])
        engine.remove(old.id)
        store.update(old.id, message=f"to be sent to another note as item {new.id}")
        result.staged.append(new)
        result.replaced[old.id] = new.id
    return result
