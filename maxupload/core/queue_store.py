"""The durable upload queue: one SQLite row per photo, from queued to verified.

Why SQLite: every state change is one committed transaction (WAL, ``synchronous=FULL``, so a
commit survives a power cut, not only a crash), the file is readable after a ``kill -9`` and it
serves the window and the command line alike. The file and its folder are owner-only.

State machine (``ItemState``)::

    queued ─> preparing ─> ready ─> uploading ─> pending_upload | synced | archived ─> verified
                 │           │          │                 │
                 │           │          │                 └─ stored copy differs ─> needs_decision
                 │           │          ├─ 429 exhausted, network before send ──────> retry_later
                 │           │          ├─ 502, sent then no answer, 5xx on upload ─> needs_decision
                 │           │          ├─ 400, 401, 403, 404, 409 ─────────────────> failed
                 │           │          └─ cancelled before the request was complete > cancelled
                 │           └─ same photo already sent (or perhaps sent) ──────────> needs_decision
                 └─ unusable or changed file ───────────────────────────────────────> failed

    uploading ─(429: answered before any processing, nothing stored)─> ready, sent again
    retry_later ─(automatically after a delay, or "retry")─> queued / ready
    failed, cancelled ─("retry")─> queued
    needs_decision ─("send again", confirmed: a second copy may result)─> queued / ready

Unknown server statuses are kept raw in ``server_status`` and shown as ``pending_upload``
(not confirmed). Items that reached the server keep their image id for good.

Recovery after a crash (``recover()``, run by the engine while it holds the queue lock):
``preparing`` goes back to ``queued`` (the prepared copy is rebuilt); ``queued`` and ``ready``
stay; ``uploading`` becomes ``needs_decision`` ("the app stopped while this photo was being
sent; a copy may be stored"): it is never re-sent without the user's say. Stored photos keep
their image id; their verification continues. The ``events`` table keeps each item's history.

Duplicate guard: keyed on the original file's sha256 (what the user recognises: "this photo")
for the same note, organization and server, checked when queued, so it holds across restarts.
Just before sending, both hashes are checked again against what was sent (a re-saved copy of a
sent photo gives the same prepared bytes), in the same transaction that marks the item
``uploading`` (``begin_upload``). A held item needs an explicit "send again".

Text written to the file (error messages, next steps, history) passes the log's key redaction:
an API key quoted by some error never reaches the file.

An item's binding (organization, note, provider, patient label, base URL, preset, source file
and its hash) is written once at queue time; ``update`` refuses those fields and a trigger in
the database refuses them too. Every change is committed before listeners hear about it.
"""

from __future__ import annotations

import contextlib
import enum
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maxupload.core.errors import MaxUploadError
from maxupload.core.filenames import for_storage, from_storage
from maxupload.core.logsetup import redact
from maxupload.core.models import Target
from maxupload.core.paths import app_paths
from maxupload.core.runlock import RunLock
from maxupload.core.storage import open_failure, storage_error


class ItemState(enum.StrEnum):
    """Where one photo is on its way to the note."""

    STAGED = "staged"  # added and checked, not bound to a note yet (kept across restarts)
    QUEUED = "queued"
    PREPARING = "preparing"
    READY = "ready"
    UPLOADING = "uploading"
    PENDING_UPLOAD = "pending_upload"
    SYNCED = "synced"
    ARCHIVED = "archived"
    VERIFIED = "verified"
    RETRY_LATER = "retry_later"
    NEEDS_DECISION = "needs_decision"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: The server holds the photo (the upload answered 200); verification may still be due.
UPLOADED_STATES = frozenset({ItemState.PENDING_UPLOAD, ItemState.SYNCED, ItemState.ARCHIVED})
#: The engine is working on the item right now.
ACTIVE_STATES = frozenset({ItemState.PREPARING, ItemState.UPLOADING})
#: Nothing more happens without the user.
FINAL_STATES = frozenset(
    {ItemState.VERIFIED, ItemState.NEEDS_DECISION, ItemState.FAILED, ItemState.CANCELLED}
)
#: Queued for a note and waiting to be sent (nothing is on its way yet).
WAITING_STATES = frozenset({ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER})
#: Bound for a note and not settled: waiting or being worked on.
ON_ITS_WAY_STATES = WAITING_STATES | ACTIVE_STATES
#: The server holds a copy (a signed link to it can be asked for).
STORED_STATES = UPLOADED_STATES | {ItemState.VERIFIED}
#: Items that no longer count for the duplicate guard, unless they may have stored a copy.
GUARD_EXCLUDED_STATES = frozenset({ItemState.FAILED, ItemState.CANCELLED})

#: Set once at queue time, never changed (enforced here and by a database trigger).
BINDING_FIELDS = frozenset(
    {
        "source_path",
        "file_name",
        "size_original",
        "sha256_original",
        "org_id",
        "note_id",
        "provider_id",
        "patient_label",
        "base_url",
        "preset",
        "created_at",
    }
)

#: Fields the engine may change with ``update``.
MUTABLE_FIELDS = frozenset(
    {
        "attempts",
        "server_status",
        "image_id",
        "trace_id",
        "error_kind",
        "error_code",
        "error_message",
        "next_step",
        "prepared_path",
        "sha256_sent",
        "size_sent",
        "mime_type",
        "sent_file_name",
        "sent_at",
        "uploaded_at",
        "verified_at",
        "verify_attempts",
        "retry_count",
        "next_attempt_at",
        "duplicate_of",
        "duplicate_ok",
        "hidden",
        "findings",
        "captured_at",
        "label_codes",
        "facts_read",
    }
)

#: Fields that hold wording built from errors; written through the key redaction.
_FREE_TEXT_FIELDS = frozenset({"error_message", "next_step"})


class QueueStoreError(MaxUploadError):
    """The queue file cannot be used (newer schema, damaged file, unknown item)."""

    default_next_step = (
        "Close other MaxUpload windows and try again; if it persists, contact support."
    )


class ItemNotFound(QueueStoreError):
    default_next_step = "Run 'maxupload queue' to see the items and their numbers."


class InvalidTransition(QueueStoreError):
    """The item is not in a state that allows the requested change."""

    default_next_step = "Run 'maxupload queue' to see the item's current state."


class BindingImmutable(QueueStoreError):
    """An attempt to change where an already queued photo goes."""

    default_next_step = "Remove the item and add the photo again for the other note."


@dataclass(frozen=True)
class QueueItem:
    """A snapshot of one queue row. Times are Unix seconds (UTC)."""

    id: int
    source_path: str
    file_name: str
    size_original: int
    sha256_original: str
    org_id: str
    note_id: str
    provider_id: str
    patient_label: str
    base_url: str
    preset: str
    state: ItemState
    created_at: float
    updated_at: float
    revision: int = 0
    attempts: int = 0
    server_status: str | None = None  # raw value of the upload answer, unknown values kept
    image_id: str | None = None
    trace_id: str | None = None
    error_kind: str | None = None  # "retry_later" | "needs_decision" | "failed" | "cancelled"
    error_code: str | None = None
    error_message: str | None = None
    next_step: str | None = None
    prepared_path: str | None = None
    sha256_sent: str | None = None
    size_sent: int | None = None
    mime_type: str | None = None
    sent_file_name: str | None = None
    sent_at: float | None = None
    uploaded_at: float | None = None
    verified_at: float | None = None
    verify_attempts: int = 0
    retry_count: int = 0  # automatic retries since the last user action
    next_attempt_at: float | None = None
    duplicate_of: int | None = None
    duplicate_ok: bool = False
    hidden: bool = False
    captured_at: str | None = None  # ISO 8601 capture time read when staged, if any
    label_codes: str | None = None  # JSON list of barcode/QR texts read when staged
    findings: str | None = None  # JSON list of the photo checks' findings for its target
    facts_read: bool = False  # the photo checks have read captured_at and label_codes

    @property
    def target(self) -> Target:
        return Target(
            org_id=self.org_id,
            note_id=self.note_id,
            provider_id=self.provider_id,
            patient_label=self.patient_label,
            base_url=self.base_url,
        )

    @property
    def reached_server(self) -> bool:
        """The server answered 200 for this photo (it has an image id)."""
        return self.image_id is not None

    @property
    def settled(self) -> bool:
        """The engine has nothing more to do with this item unless the user acts."""
        if self.state in FINAL_STATES:
            return True
        if self.state == ItemState.RETRY_LATER:
            return self.next_attempt_at is None
        if self.state in UPLOADED_STATES:
            return self.next_attempt_at is None and self.error_message is not None
        return False

    def time(self, name: str) -> datetime | None:
        """One of the ``*_at`` fields as an aware UTC datetime."""
        value = getattr(self, name)
        return None if value is None else datetime.fromtimestamp(value, UTC)


@dataclass(frozen=True)
class NewItem:
    """What ``add`` needs to know about one file."""

    source_path: Path
    size: int
    sha256: str


@dataclass(frozen=True)
class StagedEntry:
    """What ``stage`` saves about one photo: the file and what the photo checks read."""

    source_path: Path
    size: int
    sha256: str
    captured_at: str | None = None  # ISO 8601
    label_codes: str | None = None  # JSON list of texts
    facts_read: bool = False  # False: the photo checks read the file later


@dataclass(frozen=True)
class ItemEvent:
    """One line of an item's history: what happened and why."""

    item_id: int
    at: float
    state: str
    message: str


_ITEM_COLUMNS = tuple(f.name for f in fields(QueueItem))

# --- schema -------------------------------------------------------------------------------

_V1 = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (0);
CREATE TABLE items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source_path TEXT NOT NULL,
    file_name TEXT NOT NULL,
    size_original INTEGER NOT NULL,
    sha256_original TEXT NOT NULL,
    org_id TEXT NOT NULL,
    note_id TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    patient_label TEXT NOT NULL,
    base_url TEXT NOT NULL,
    preset TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    server_status TEXT,
    image_id TEXT,
    trace_id TEXT,
    error_kind TEXT,
    error_code TEXT,
    error_message TEXT,
    next_step TEXT,
    prepared_path TEXT,
    sha256_sent TEXT,
    size_sent INTEGER,
    mime_type TEXT,
    sent_file_name TEXT,
    sent_at REAL,
    uploaded_at REAL,
    verified_at REAL
);
CREATE INDEX items_note_hash ON items (note_id, sha256_original);
"""

_V2 = """
ALTER TABLE items ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN verify_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN retry_count INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN next_attempt_at REAL;
ALTER TABLE items ADD COLUMN duplicate_of INTEGER;
ALTER TABLE items ADD COLUMN duplicate_ok INTEGER NOT NULL DEFAULT 0;
ALTER TABLE items ADD COLUMN hidden INTEGER NOT NULL DEFAULT 0;
CREATE INDEX items_note_sent ON items (note_id, sha256_sent);
CREATE INDEX items_state ON items (state);
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items (id),
    at REAL NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX events_item ON events (item_id);
INSERT INTO events (item_id, at, state, message)
    SELECT id, updated_at, state, 'carried over from an earlier MaxUpload version' FROM items;
CREATE TRIGGER items_binding_immutable BEFORE UPDATE ON items
WHEN NEW.source_path IS NOT OLD.source_path OR NEW.file_name IS NOT OLD.file_name
  OR NEW.size_original IS NOT OLD.size_original OR NEW.sha256_original IS NOT OLD.sha256_original
  OR NEW.org_id IS NOT OLD.org_id OR NEW.note_id IS NOT OLD.note_id
  OR NEW.provider_id IS NOT OLD.provider_id OR NEW.patient_label IS NOT OLD.patient_label
  OR NEW.base_url IS NOT OLD.base_url OR NEW.preset IS NOT OLD.preset
  OR NEW.created_at IS NOT OLD.created_at
BEGIN
    SELECT RAISE(ABORT, 'a queued photo keeps its note, provider and organization');
END;
"""

# Version 3: staged photos are rows too (state 'staged', target not bound yet), with what the
# photo checks read from them once; the binding is written once, when a staged row is queued.
_V3 = """
ALTER TABLE items ADD COLUMN captured_at TEXT;
ALTER TABLE items ADD COLUMN label_codes TEXT;
ALTER TABLE items ADD COLUMN findings TEXT;
ALTER TABLE items ADD COLUMN facts_read INTEGER NOT NULL DEFAULT 0;
DROP TRIGGER items_binding_immutable;
CREATE TRIGGER items_binding_immutable BEFORE UPDATE ON items
WHEN OLD.state != 'staged' AND (
  NEW.source_path IS NOT OLD.source_path OR NEW.file_name IS NOT OLD.file_name
  OR NEW.size_original IS NOT OLD.size_original OR NEW.sha256_original IS NOT OLD.sha256_original
  OR NEW.org_id IS NOT OLD.org_id OR NEW.note_id IS NOT OLD.note_id
  OR NEW.provider_id IS NOT OLD.provider_id OR NEW.patient_label IS NOT OLD.patient_label
  OR NEW.base_url IS NOT OLD.base_url OR NEW.preset IS NOT OLD.preset
  OR NEW.created_at IS NOT OLD.created_at)
BEGIN
    SELECT RAISE(ABORT, 'a queued photo keeps its note, provider and organization');
END;
"""

#: Schema migrations in order; migration N brings the file to version N.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3)
SCHEMA_VERSION = len(MIGRATIONS)

Listener = Callable[[QueueItem], None]

#: How long opening the queue waits for another MaxUpload that is opening it too.
_OPEN_WAIT_S = 30.0


def default_queue_path() -> Path:
    return app_paths().data / "queue.sqlite3"


def _now() -> float:
    return time.time()


def _private_file(path: Path) -> None:
    """Create the file owner-only before SQLite opens it (SQLite copies its mode to -wal/-shm)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path.parent, 0o700)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


def migrate(conn: sqlite3.Connection, upto: int = SCHEMA_VERSION) -> int:
    """Bring the file to schema version ``upto``; returns the version found before."""
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'"
    ).fetchone()
    found = 0
    if has_table:
        row = conn.execute("SELECT version FROM schema_version").fetchone()
        found = int(row[0]) if row else 0
    if found > len(MIGRATIONS):
        raise QueueStoreError(
            f"The upload queue was written by a newer MaxUpload (schema {found}); "
            "update MaxUpload to open it."
        )
    for version in range(found + 1, upto + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _split_sql(MIGRATIONS[version - 1]):
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _split_sql(script: str) -> Iterator[str]:
    """Statements of a migration script (triggers keep their inner semicolons)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            buffer = ""
            if statement:
                yield statement
    if buffer.strip():
        yield buffer.strip()


def connect(path: Path) -> sqlite3.Connection:
    """Open the queue file with the durability settings MaxUpload relies on."""
    _private_file(path)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30.0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


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
        with self._reading() as conn:
            rows = conn.execute(
                sql, (value, item.note_id, item.org_id, item.base_url, item.id)
            ).fetchall()
        return [_item(r) for r in rows]

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
        conn.execute(
            "INSERT INTO events (item_id, at, state, message) VALUES (?, ?, ?, ?)",
            (item_id, _now(), state, _free_text(message)),
        )

    def add(
        self,
        entries: Sequence[NewItem],
        target: Target,
        preset: str,
    ) -> list[QueueItem]:
        """Queue photos for one target. The same photo already sent (or perhaps sent, or in the
        queue) to the same note goes to ``needs_decision`` at once: it needs a "send again".
        """
        _check_target(target)
        added: list[int] = []
        with self._transaction() as conn:
            for entry in entries:
                staged = StagedEntry(entry.source_path, entry.size, entry.sha256)
                item_id = self._insert(conn, staged, target, preset)
                added.append(item_id)
                self._event(conn, item_id, ItemState.QUEUED, f"queued for note {target.note_id}")
                self._hold_if_twin(conn, item_id)
            result = [self._row(i) for i in added]
        self._notify(result)
        return result

    def stage(self, entries: Sequence[StagedEntry]) -> list[QueueItem]:
        """Save photos that were added but not sent yet (state ``staged``, no target), with
        what the photo checks read from them, so they survive a crash or a restart."""
        added: list[int] = []
        with self._transaction() as conn:
            for entry in entries:
                item_id = self._insert(conn, entry, None, "")
                added.append(item_id)
                self._event(conn, item_id, ItemState.STAGED, "added, not sent yet")
            result = [self._row(i) for i in added]
        self._notify(result)
        return result

    def _insert(
        self, conn: sqlite3.Connection, entry: StagedEntry, target: Target | None, preset: str
    ) -> int:
        """One new row: queued for ``target``, or staged when there is none yet."""
        now = _now()
        bound = target or Target("", "", "", "", "")
        cur = conn.execute(
            "INSERT INTO items (source_path, file_name, size_original, sha256_original, "
            "org_id, note_id, provider_id, patient_label, base_url, preset, state, "
            "created_at, updated_at, captured_at, label_codes, facts_read) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
                (ItemState.QUEUED if target else ItemState.STAGED).value,
                now,
                now,
                entry.captured_at,
                entry.label_codes,
                int(entry.facts_read),
            ),
        )
        return int(cur.lastrowid or 0)

    def _hold_if_twin(self, conn: sqlite3.Connection, item_id: int) -> None:
        """Hold a just-queued item when the same photo was sent (or perhaps sent, or is
        queued) for its note: it needs a "send again"."""
        item = self._row(item_id)
        earlier = [] if item.duplicate_ok else self.duplicates_of(item)
        if earlier:
            self._mark_duplicate(conn, item, earlier[0], "sha256_original")

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

    def _mark_duplicate(
        self, conn: sqlite3.Connection, item: QueueItem, earlier: QueueItem, by: str
    ) -> None:
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
        self._event(conn, item.id, ItemState.NEEDS_DECISION, f"{what} as item {earlier.id}")

    def _hold_if_duplicate(self, conn: sqlite3.Connection, item: QueueItem) -> bool:
        """Hold ``item`` when the same photo or prepared copy was sent (or perhaps sent) to its
        note; items the user confirmed with "send again" pass."""
        if item.duplicate_ok:
            return False
        for by in ("sha256_original", "sha256_sent"):
            earlier = self.duplicates_of(item, by=by, sent_only=True)
            if earlier:
                self._mark_duplicate(conn, item, earlier[0], by)
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
        changed: list[int] = []
        sql = "SELECT id, state FROM items WHERE state IN (?, ?)"
        params: list[Any] = [ItemState.PREPARING.value, ItemState.UPLOADING.value]
        if ids is not None:
            id_list = [int(i) for i in ids]
            sql += f" AND id IN ({', '.join('?' * len(id_list))})"
            params.extend(id_list)
        with self._transaction() as conn:
            rows = conn.execute(sql, params).fetchall()
            for item_id, state in rows:
                now = _now()
                if state == ItemState.PREPARING:
                    conn.execute(
                        "UPDATE items SET state = ?, updated_at = ?, revision = revision + 1 "
                        "WHERE id = ?",
                        (ItemState.QUEUED.value, now, item_id),
                    )
                    self._event(
                        conn,
                        item_id,
                        ItemState.QUEUED,
                        "the app stopped while preparing this photo; nothing was sent, "
                        "it is queued again",
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
                    self._event(conn, item_id, ItemState.NEEDS_DECISION, INTERRUPTED_MESSAGE)
                changed.append(int(item_id))
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
        with self._reading() as conn:
            row = conn.execute(sql + " ORDER BY id LIMIT 1", params).fetchone()
        return None if row is None else _item(row)

    def next_wakeup(self, *, only: Iterable[int] | None = None) -> float | None:
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
        with self._reading() as conn:
            row = conn.execute(sql, params).fetchone()
        return None if row is None or row[0] is None else float(row[0])


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


def _free_text(text: str) -> str:
    """Wording for the file: keys masked, undecodable bytes of a quoted file name escaped."""
    return redact(text).encode("utf-8", "backslashreplace").decode("utf-8")


def _check_target(target: Target) -> None:
    if not (target.org_id and target.note_id and target.provider_id and target.base_url):
        raise ValueError("a queue item needs organization, note, provider and base URL")


def _item(row: Sequence[Any]) -> QueueItem:
    values = dict(zip(_ITEM_COLUMNS, row, strict=True))
    values["source_path"] = from_storage(values["source_path"])
    values["file_name"] = from_storage(values["file_name"])
    values["state"] = ItemState(values["state"])
    values["duplicate_ok"] = bool(values["duplicate_ok"])
    values["hidden"] = bool(values["hidden"])
    values["facts_read"] = bool(values["facts_read"])
    return QueueItem(**values)
