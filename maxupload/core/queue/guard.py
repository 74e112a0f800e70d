"""The duplicate guard: one photo is never on a note twice without the user's say.

Keyed on the original file's sha256 (what the user recognises: "this photo")
for the same note, organization and server, checked when queued, so it holds across restarts.
Just before sending, both hashes are checked again against what was sent (a re-saved copy of a
sent photo gives the same prepared bytes), in the same transaction that marks the item
``uploading`` (``begin_upload``). A held item needs an explicit "send again".
"""

from __future__ import annotations

import sqlite3

from maxupload.core.queue.model import (
    _ITEM_COLUMNS,
    GUARD_EXCLUDED_STATES,
    UPLOADED_STATES,
    ItemState,
    QueueItem,
    _item,
)
from maxupload.core.queue.schema import _now, record_event
from maxupload.core.queue.texts import duplicate_message


def find_duplicates(
    conn: sqlite3.Connection, item: QueueItem, *, by: str, sent_only: bool
) -> list[QueueItem]:
    """Other items with the same content for the same note that count for the guard (see
    ``QueueStore.duplicates_of``)."""
    if by not in ("sha256_original", "sha256_sent"):
        raise ValueError(by)
    value = getattr(item, by)
    if not value:
        return []
    # Sent at least once after the user accepted that a copy may exist ("send again"):
    # whatever became of it later, that earlier copy may be on the note.
    maybe_stored = "image_id IS NOT NULL OR (duplicate_ok = 1 AND attempts > 0)"
    excluded = ", ".join(f"'{s}'" for s in sorted(GUARD_EXCLUDED_STATES))
    counts = f"state NOT IN ({excluded}) OR {maybe_stored}"
    if sent_only:
        on_server = {ItemState.UPLOADING, ItemState.VERIFIED, *UPLOADED_STATES}
        sent = ", ".join(f"'{s}'" for s in sorted(on_server))
        counts = (
            f"state IN ({sent}) OR {maybe_stored} OR "
            "(state = 'needs_decision' AND COALESCE(error_code, '') != 'duplicate')"
        )
    sql = (
        f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items WHERE {by} = ? AND note_id = ? "
        f"AND org_id = ? AND base_url = ? AND id != ? AND ({counts}) ORDER BY id"
    )
    rows = conn.execute(sql, (value, item.note_id, item.org_id, item.base_url, item.id)).fetchall()
    return [_item(r) for r in rows]


def mark_duplicate(conn: sqlite3.Connection, item: QueueItem, earlier: QueueItem, by: str) -> None:
    """Hold ``item`` as a twin of ``earlier`` (in the caller's transaction)."""
    message, step = duplicate_message(earlier, item.id)
    what = "the same photo" if by == "sha256_original" else "an identical prepared copy"
    conn.execute(
        "UPDATE items SET state = ?, error_kind = ?, error_code = ?, error_message = ?, "
        "next_step = ?, duplicate_of = ?, updated_at = ?, revision = revision + 1 "
        "WHERE id = ?",
        (
            ItemState.NEEDS_DECISION.value,
            "needs_decision",
            "duplicate",
            message,
            step,
            earlier.id,
            _now(),
            item.id,
        ),
    )
    record_event(conn, item.id, ItemState.NEEDS_DECISION, f"{what} as item {earlier.id}")
