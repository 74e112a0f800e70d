"""The durable upload queue: one SQLite row per photo, from queued to verified.

Why SQLite: every state change is one committed transaction (WAL, ``synchronous=FULL``, so a
commit survives a power cut, not only a crash), the file is readable after a ``kill -9`` and it
serves the window and the command line alike. The file and its folder are owner-only.

Recovery after a crash (``recover()``, run by the engine while it holds the queue lock):
``preparing`` goes back to ``queued``; ``queued``, ``ready`` and ``checking`` (waiting for its
photo checks) stay; ``uploading`` becomes ``needs_decision``: never re-sent without the user's
say. Stored photos keep their image id; their verification continues. ``events`` keeps history.

Duplicate guard: see :mod:`maxupload.core.queue.guard`.

Text written to the file (error messages, next steps, history) passes the log's key redaction:
an API key quoted by some error never reaches the file.

An item's binding (organization, note, provider, patient label, base URL, preset, source file
and its hash) is written once at queue time; ``update`` refuses those fields and a trigger in
the database refuses them too. Every change is committed before listeners hear about it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from maxupload.core.api.models import Target
from maxupload.core.queue import runnable
from maxupload.core.queue.filenames import for_storage
from maxupload.core.queue.guard import find_duplicates, mark_duplicate
from maxupload.core.queue.model import (
    _FREE_TEXT_FIELDS,
    _ITEM_COLUMNS,
    BINDING_FIELDS,
    MUTABLE_FIELDS,
    BindingImmutable,
    InvalidTransition,
    ItemEvent,
    ItemNotFound,
    ItemState,
    NewItem,
    QueueItem,
    QueueStoreError,
    StagedEntry,
    _item,
)
from maxupload.core.queue.runlock import RunLock
from maxupload.core.queue.schema import (
    _free_text,
    _now,
    connect,
    migrate,
    record_event,
)
from maxupload.core.system.paths import app_paths
from maxupload.core.system.storage import open_failure, storage_error

Listener = Callable[[QueueItem], None]

#: How long opening the queue waits for another MaxUpload that is opening it too.
_OPEN_WAIT_S = 30.0


def default_queue_path() -> Path:
    return app_paths().data / "queue.sqlite3"


class QueueStore:
    """The queue file. Thread-safe: one connection guarded by a lock; listeners run after commit."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_queue_path()
        self._lock = threading.RLock()
        self._listeners: list[Listener] = []
        # Opening (WAL switch, migrations) is one process at a time: a window and a command
        # started together would otherwise both migrate, and one would fail.
        opening = RunLock(self.path.with_name(self.path.name + ".open-lock"))
        try:
            if not opening.acquire(wait=_OPEN_WAIT_S):
                raise QueueStoreError("The upload queue file is being opened by another MaxUpload.")
            self._conn = connect(self.path)
            migrate(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise open_failure(exc, self.path) from exc
        finally:
            opening.release()
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.chmod(f"{self.path}{suffix}", 0o600)

    # --- lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> QueueStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        with self._reading() as conn:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            return int(row[0])

    # --- listeners --------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(item)`` after every committed change; returns an unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return unsubscribe

    def _notify(self, items: Iterable[QueueItem]) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for item in items:
            for listener in listeners:
                listener(item)

    # --- reading ----------------------------------------------------------------------------

    def _row(self, item_id: int) -> QueueItem:
        cur = self._conn.execute(
            f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items WHERE id = ?", (item_id,)
        )
        row = cur.fetchone()
        if row is None:
            raise ItemNotFound(f"There is no queue item {item_id}.")
        return _item(row)

    def get(self, item_id: int) -> QueueItem:
        with self._reading():
            return self._row(item_id)

    def items(
        self,
        *,
        include_hidden: bool = False,
        states: Iterable[ItemState] | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[QueueItem]:
        """Items in queue order."""
        where: list[str] = []
        params: list[Any] = []
        if not include_hidden:
            where.append("hidden = 0")
        if states is not None:
            values = [str(s) for s in states]
            where.append(f"state IN ({', '.join('?' * len(values))})")
            params.extend(values)
        if ids is not None:
            id_list = [int(i) for i in ids]
            where.append(f"id IN ({', '.join('?' * len(id_list))})")
            params.extend(id_list)
        sql = f"SELECT {', '.join(_ITEM_COLUMNS)} FROM items"
        if where:
            sql += " WHERE " + " AND ".join(where)
        with self._reading() as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [_item(r) for r in rows]

    def counts(self, ids: Iterable[int] | None = None) -> dict[str, int]:
        """How many visible items are in each state."""
        result: dict[str, int] = {}
        for item in self.items(ids=ids):
            result[item.state] = result.get(item.state, 0) + 1
        return result

    def events(self, item_id: int) -> list[ItemEvent]:
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT item_id, at, state, message FROM events WHERE item_id = ? ORDER BY id",
                (item_id,),
            ).fetchall()
        return [ItemEvent(int(r[0]), float(r[1]), str(r[2]), str(r[3])) for r in rows]

    def duplicates_of(
        self,
        item: QueueItem,
        *,
        by: str = "sha256_original",
        sent_only: bool = False,
    ) -> list[QueueItem]:
        """Other items with the same content for the same note that count for the guard.

        ``by`` is ``sha256_original`` (the file the user picked) or ``sha256_sent`` (the
        prepared copy); both are checked, so a re-saved copy of a sent photo is caught too.
        ``sent_only`` keeps only items that were sent or may have been (the check just before
        sending; at queue time every live item counts, so the later of two twins waits).
        """
        with self._reading() as conn:
            return find_duplicates(conn, item, by=by, sent_only=sent_only)

    # --- writing ----------------------------------------------------------------------------

    @contextlib.contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock; SQLite and disk failures become a StorageError."""
        with self._lock, self._storage_errors():
            yield self._conn

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            problem = storage_error(exc, self.path)
            if problem is None:
                raise
            raise problem from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._storage_errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
                self._conn.execute("COMMIT")
            except BaseException:
                # Also when COMMIT itself fails (disk full): an open transaction would refuse
                # every later change.
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                raise

    def _event(self, conn: sqlite3.Connection, item_id: int, state: str, message: str) -> None:
        record_event(conn, item_id, state, message)

    def add(
        self,
        entries: Sequence[NewItem],
        target: Target,
        preset: str,
        *,
        checks_pending: str | None = None,
    ) -> list[QueueItem]:
        """Queue photos for one target. The same photo already sent (or perhaps sent, or in the
        queue) to the same note goes to ``needs_decision`` at once: it needs a "send again".

        ``checks_pending`` (the batch's acknowledged check codes, JSON): the photos are bound
        but wait for their photo checks (``checking``); ``release_checked`` queues each one.
        """
        _check_target(target)
        added: list[int] = []
        state = ItemState.QUEUED if checks_pending is None else ItemState.CHECKING
        with self._transaction() as conn:
            for entry in entries:
                staged = StagedEntry(entry.source_path, entry.size, entry.sha256)
                item_id = self._insert(conn, staged, target, preset, state, checks_pending)
                added.append(item_id)
                if checks_pending is None:
                    self._event(conn, item_id, state, f"queued for note {target.note_id}")
                    self._hold_if_twin(conn, item_id)
                else:
                    self._event(conn, item_id, state, f"for note {target.note_id}, being checked")
            result = [self._row(i) for i in added]
        self._notify(result)
        return result

    def release_checked(self, item_id: int, message: str, **changes: Any) -> QueueItem:
        """Queue a ``checking`` photo whose checks passed (with what they read), held at once
        when a twin was sent or is queued for its note, as in ``bind``."""
        self._check_fields(item_id, changes)
        with self._transaction() as conn:
            current = self._row(item_id)
            if current.state != ItemState.CHECKING:
                raise InvalidTransition(
                    f"Queue item {item_id} is {current.state}; it is not waiting for its checks."
                )
            self._write(conn, current, ItemState.QUEUED, message, changes)
            self._hold_if_twin(conn, item_id)
            result = self._row(item_id)
        self._notify([result])
        return result

    def stage(self, entries: Sequence[StagedEntry]) -> list[QueueItem]:
        """Save photos that were added but not sent yet (state ``staged``, no target), with
        what the photo checks read from them, so they survive a crash or a restart."""
        added: list[int] = []
        with self._transaction() as conn:
            for entry in entries:
                item_id = self._insert(conn, entry, None, "", ItemState.STAGED)
                added.append(item_id)
                self._event(conn, item_id, ItemState.STAGED, "added, not sent yet")
            result = [self._row(i) for i in added]
        self._notify(result)
        return result

    def _insert(
        self,
        conn: sqlite3.Connection,
        entry: StagedEntry,
        target: Target | None,
        preset: str,
        state: ItemState,
        acknowledged: str | None = None,
    ) -> int:
        """One new row in ``state``: bound to ``target``, or staged when there is none yet."""
        now = _now()
        bound = target or Target("", "", "", "", "")
        cur = conn.execute(
            "INSERT INTO items (source_path, file_name, size_original, sha256_original, "
            "org_id, note_id, provider_id, patient_label, base_url, preset, state, "
            "created_at, updated_at, captured_at, label_codes, facts_read, acknowledged) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                for_storage(entry.source_path),
                for_storage(entry.source_path.name),
                int(entry.size),
                entry.sha256,
                bound.org_id,
                bound.note_id,
                bound.provider_id,
                bound.patient_label,
                bound.base_url,
                preset,
                state.value,
                now,
                now,
                entry.captured_at,
                entry.label_codes,
                int(entry.facts_read),
                acknowledged,
            ),
        )
        return int(cur.lastrowid or 0)

    def _hold_if_twin(self, conn: sqlite3.Connection, item_id: int) -> None:
        """Hold a just-queued item when the same photo was sent (or perhaps sent, or is
        queued) for its note: it needs a "send again"."""
        item = self._row(item_id)
        earlier = [] if item.duplicate_ok else self.duplicates_of(item)
        if earlier:
            mark_duplicate(conn, item, earlier[0], "sha256_original")

    def bind(self, item_id: int, target: Target, preset: str) -> QueueItem:
        """Queue a staged photo for ``target``: its binding is written once, here. The same
        photo already sent (or perhaps sent, or queued) to that note is held at once, as in
        ``add``."""
        _check_target(target)
        with self._transaction() as conn:
            current = self._row(item_id)
            if current.state != ItemState.STAGED:
                raise InvalidTransition(
                    f"Queue item {item_id} is {current.state}; only a photo not sent yet can be "
                    "queued for a note."
                )
            conn.execute(
                "UPDATE items SET org_id = ?, note_id = ?, provider_id = ?, patient_label = ?, "
                "base_url = ?, preset = ?, state = ?, updated_at = ?, "
                "revision = revision + 1 WHERE id = ?",
                (
                    target.org_id,
                    target.note_id,
                    target.provider_id,
                    target.patient_label,
                    target.base_url,
                    preset,
                    ItemState.QUEUED.value,
                    _now(),
                    item_id,
                ),
            )
            self._event(conn, item_id, ItemState.QUEUED, f"queued for note {target.note_id}")
            self._hold_if_twin(conn, item_id)
            result = self._row(item_id)
        self._notify([result])
        return result

    def _hold_if_duplicate(self, conn: sqlite3.Connection, item: QueueItem) -> bool:
        """Hold ``item`` when the same photo or prepared copy was sent (or perhaps sent) to its
        note; items the user confirmed with "send again" pass."""
        if item.duplicate_ok:
            return False
        for by in ("sha256_original", "sha256_sent"):
            earlier = self.duplicates_of(item, by=by, sent_only=True)
            if earlier:
                mark_duplicate(conn, item, earlier[0], by)
                return True
        return False

    def mark_duplicate_if_any(self, item_id: int) -> QueueItem | None:
        """Hold the item when its photo or prepared copy matches one already sent.

        Returns the updated item when it was held, else None.
        """
        with self._transaction() as conn:
            if not self._hold_if_duplicate(conn, self._row(item_id)):
                return None
            held = self._row(item_id)
        self._notify([held])
        return held

    def begin_upload(self, item_id: int, *, message: str, **changes: Any) -> QueueItem:
        """Move a ``ready`` item to ``uploading``, unless the duplicate guard holds it.

        The check and the change are one transaction, so of two copies of the same photo
        (e.g. a retried one and its twin) only one can ever be on its way. Returns the item:
        ``uploading``, or ``needs_decision`` when held.
        """
        self._check_fields(item_id, changes)
        with self._transaction() as conn:
            item = self._row(item_id)
            if item.state != ItemState.READY:
                raise InvalidTransition(
                    f"Queue item {item_id} is {item.state}; it cannot be sent now."
                )
            if not self._hold_if_duplicate(conn, item):
                self._write(conn, item, ItemState.UPLOADING, message, changes)
            result = self._row(item_id)
        self._notify([result])
        return result

    def _check_fields(self, item_id: int, changes: dict[str, Any]) -> None:
        bad = set(changes) & BINDING_FIELDS
        if bad:
            raise BindingImmutable(
                f"Queue item {item_id} keeps its {', '.join(sorted(bad))}; it cannot be changed."
            )
        unknown = set(changes) - MUTABLE_FIELDS
        if unknown:
            raise ValueError(f"unknown queue item fields: {sorted(unknown)}")

    def _write(
        self,
        conn: sqlite3.Connection,
        current: QueueItem,
        state: ItemState | None,
        message: str | None,
        changes: dict[str, Any],
    ) -> None:
        """One row change plus its history line, inside the caller's transaction."""
        sets = ["updated_at = ?", "revision = revision + 1"]
        params: list[Any] = [_now()]
        if state is not None:
            sets.append("state = ?")
            params.append(ItemState(state).value)
        for name, value in changes.items():
            sets.append(f"{name} = ?")
            if name in _FREE_TEXT_FIELDS and isinstance(value, str):
                value = _free_text(value)  # error texts may quote anything; never a key
            params.append(int(value) if isinstance(value, bool) else value)
        params.append(current.id)
        try:
            conn.execute(f"UPDATE items SET {', '.join(sets)} WHERE id = ?", params)
        except sqlite3.IntegrityError as exc:  # the trigger; unreachable through update()
            raise BindingImmutable(str(exc)) from exc
        if state is not None or message:
            self._event(conn, current.id, ItemState(state or current.state), message or "")

    def update(
        self,
        item_id: int,
        state: ItemState | None = None,
        *,
        expect: Iterable[ItemState] | None = None,
        message: str | None = None,
        **changes: Any,
    ) -> QueueItem:
        """Change an item's state and/or fields in one committed transaction, then notify.

        ``expect`` makes it a compare-and-set: InvalidTransition when the item is elsewhere.
        The binding fields cannot be changed (BindingImmutable).
        """
        self._check_fields(item_id, changes)
        with self._transaction() as conn:
            current = self._row(item_id)
            if expect is not None and current.state not in set(expect):
                raise InvalidTransition(
                    f"Queue item {item_id} is {current.state}; that change is not possible now."
                )
            self._write(conn, current, state, message, changes)
            item = self._row(item_id)
        self._notify([item])
        return item

    def recover(self, ids: Iterable[int] | None = None) -> list[QueueItem]:
        """Put every item (or just ``ids``) that was mid-way when the app stopped, or when its
        next step could not be saved, back where it is safe.

        Call only while holding the queue lock (no other engine is running, or none is working
        on ``ids``).
        """
        with self._transaction() as conn:
            changed = runnable.recover_rows(conn, ids)
            result = [self._row(i) for i in changed]
        self._notify(result)
        return result

    def next_runnable(
        self,
        now: float,
        *,
        exclude: Iterable[int] = (),
        only: Iterable[int] | None = None,
    ) -> QueueItem | None:
        """The oldest item the engine may work on now (to prepare, send or verify)."""
        with self._reading() as conn:
            return runnable.next_runnable(conn, now, exclude, only)

    def next_wakeup(self, *, only: Iterable[int] | None = None) -> float | None:
        """The earliest scheduled retry or verification, if any."""
        with self._reading() as conn:
            return runnable.next_wakeup(conn, only)


def _check_target(target: Target) -> None:
    if not (target.org_id and target.note_id and target.provider_id and target.base_url):
        raise ValueError("a queue item needs organization, note, provider and base URL")
