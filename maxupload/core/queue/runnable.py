"""What the engine may work on next, and putting items left mid-way by a crash back safely.

Recovery (``recover_rows``, run while the engine holds the queue lock): ``preparing`` goes back
to ``queued`` (the prepared copy is rebuilt); ``uploading`` becomes ``needs_decision``: it is
never re-sent without the user's say.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from maxupload.core.queue.model import _ITEM_COLUMNS, ItemState, QueueItem, _item
from maxupload.core.queue.schema import _now, record_event
from maxupload.core.queue.texts import INTERRUPTED_MESSAGE, send_again_step


def recover_rows(conn: sqlite3.Connection, ids: Iterable[int] | None) -> list[int]:
    """Put the items left mid-way (all, or just ``ids``) back where they are safe, in the
    caller's transaction; returns their ids."""
    changed: list[int] = []
    sql = "SELECT id, state FROM items WHERE state IN (?, ?)"
    params: list[Any] = [ItemState.PREPARING.value, ItemState.UPLOADING.value]
    if ids is not None:
        id_list = [int(i) for i in ids]
        sql += f" AND id IN ({', '.join('?' * len(id_list))})"
        params.extend(id_list)
    rows = conn.execute(sql, params).fetchall()
    for item_id, state in rows:
        now = _now()
        if state == ItemState.PREPARING:
            conn.execute(
                "UPDATE items SET state = ?, updated_at = ?, revision = revision + 1 WHERE id = ?",
                (ItemState.QUEUED.value, now, item_id),
            )
            record_event(
                conn,
                item_id,
                ItemState.QUEUED,
                "the app stopped while preparing this photo; nothing was sent, it is queued again",
            )
        else:
            conn.execute(
                "UPDATE items SET state = ?, error_kind = ?, error_code = ?, "
                "error_message = ?, next_step = ?, next_attempt_at = NULL, "
                "updated_at = ?, revision = revision + 1 WHERE id = ?",
                (
                    ItemState.NEEDS_DECISION.value,
                    "needs_decision",
                    "interrupted",
                    INTERRUPTED_MESSAGE,
                    send_again_step(int(item_id)),
                    now,
                    item_id,
                ),
            )
            record_event(conn, item_id, ItemState.NEEDS_DECISION, INTERRUPTED_MESSAGE)
        changed.append(int(item_id))
    return changed


def next_runnable(
    conn: sqlite3.Connection, now: float, exclude: Iterable[int], only: Iterable[int] | None
) -> QueueItem | None:
    """The oldest item the engine may work on now (to prepare, send or verify)."""
    excluded = [int(i) for i in exclude]
    sql = (
        f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items WHERE ("
        "state IN ('queued', 'ready') "
        "OR (state = 'retry_later' AND next_attempt_at IS NOT NULL AND next_attempt_at <= ?) "
        "OR (state IN ('pending_upload', 'synced', 'archived') AND verified_at IS NULL "
        "    AND (next_attempt_at IS NULL AND error_message IS NULL "
        "         OR next_attempt_at IS NOT NULL AND next_attempt_at <= ?)))"
    )
    params: list[Any] = [now, now]
    if excluded:
        sql += f" AND id NOT IN ({', '.join('?' * len(excluded))})"
        params.extend(excluded)
    if only is not None:
        only_list = [int(i) for i in only]
        sql += f" AND id IN ({', '.join('?' * len(only_list))})"
        params.extend(only_list)
    row = conn.execute(sql + " ORDER BY id LIMIT 1", params).fetchone()
    return None if row is None else _item(row)


def next_wakeup(conn: sqlite3.Connection, only: Iterable[int] | None) -> float | None:
    """The earliest scheduled retry or verification, if any."""
    sql = (
        "SELECT MIN(next_attempt_at) FROM items WHERE next_attempt_at IS NOT NULL "
        "AND (state = 'retry_later' OR (state IN ('pending_upload', 'synced', 'archived') "
        "AND verified_at IS NULL))"
    )
    params: list[Any] = []
    if only is not None:
        only_list = [int(i) for i in only]
        sql += f" AND id IN ({', '.join('?' * len(only_list))})"
        params.extend(only_list)
    row = conn.execute(sql, params).fetchone()
    return None if row is None or row[0] is None else float(row[0])
