"""The upload history: which photo went to which chart, when, by whom, and how it ended.

A SQLite file of its own beside the queue (``history.sqlite3``, owner-only like the queue), so it
outlives "clear done" and a removed queue row. One row per queued photo: when, the computer's
user, patient (name, MRN), note, visit (in the facility's zone), provider, file name, sizes, the
sha256 of the original and of what was sent, the image id, the verification result, every
status change and the trace ids; and what became of the original file when the clinic asked
for it to be moved to the trash. Nothing secret: no key, no signed link, no photo.

``HistoryRecorder`` fills it by listening to the queue's committed changes; the front ends add
what the queue does not hold (patient name and MRN, visit, provider name, the trash choice)
with ``remember`` before the engine starts the batch. Rows older than the retention (default a
year, see ``Settings.history_retention_days``) are removed when the history is opened.
"""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from maxupload.core.api.models import Note, Provider
from maxupload.core.checks.visit_time import visit_text
from maxupload.core.errors import MaxUploadError
from maxupload.core.queue.model import UPLOADED_STATES, ItemState, QueueItem
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.logsetup import redact

log = logging.getLogger(__name__)

HISTORY_FILE_NAME = "history.sqlite3"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL,
    queued_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    os_user TEXT NOT NULL DEFAULT '',
    org_id TEXT NOT NULL DEFAULT '',
    base_url TEXT NOT NULL DEFAULT '',
    note_id TEXT NOT NULL DEFAULT '',
    patient_name TEXT NOT NULL DEFAULT '',
    mrn TEXT NOT NULL DEFAULT '',
    patient_label TEXT NOT NULL DEFAULT '',
    visit TEXT NOT NULL DEFAULT '',
    provider_id TEXT NOT NULL DEFAULT '',
    provider_name TEXT NOT NULL DEFAULT '',
    source_path TEXT NOT NULL DEFAULT '',
    file_name TEXT NOT NULL DEFAULT '',
    size_original INTEGER,
    size_sent INTEGER,
    sha256_original TEXT NOT NULL DEFAULT '',
    sha256_sent TEXT NOT NULL DEFAULT '',
    image_id TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT '',
    server_status TEXT NOT NULL DEFAULT '',
    verification TEXT NOT NULL DEFAULT '',
    problem TEXT NOT NULL DEFAULT '',
    trace_ids TEXT NOT NULL DEFAULT '',
    trash_original INTEGER NOT NULL DEFAULT 0,
    original TEXT NOT NULL DEFAULT '',
    UNIQUE (item_id, queued_at)
);
CREATE INDEX IF NOT EXISTS uploads_queued ON uploads (queued_at);
CREATE INDEX IF NOT EXISTS uploads_note ON uploads (note_id);
CREATE TABLE IF NOT EXISTS changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id INTEGER NOT NULL REFERENCES uploads (id) ON DELETE CASCADE,
    at REAL NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS changes_upload ON changes (upload_id);
"""


@dataclass(frozen=True)
class Change:
    """One status change of a photo."""

    at: float
    state: str
    message: str


@dataclass(frozen=True)
class HistoryEntry:
    """One photo in the history (times are Unix seconds)."""

    id: int
    item_id: int
    queued_at: float
    updated_at: float
    os_user: str
    org_id: str
    base_url: str
    note_id: str
    patient_name: str
    mrn: str
    patient_label: str
    visit: str
    provider_id: str
    provider_name: str
    source_path: str
    file_name: str
    size_original: int | None
    size_sent: int | None
    sha256_original: str
    sha256_sent: str
    image_id: str
    state: str
    server_status: str
    verification: str
    problem: str
    trace_ids: str
    trash_original: bool
    original: str
    changes: tuple[Change, ...] = ()


_COLUMNS = tuple(f.name for f in fields(HistoryEntry) if f.name != "changes")


def history_path_for(queue_path: Path) -> Path:
    """The history file kept beside a queue file."""
    return queue_path.with_name(HISTORY_FILE_NAME)


def os_user() -> str:
    """The computer account that ran MaxUpload ('' when the system cannot say)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def verification_of(item: QueueItem) -> str:
    """What the check of the stored copy found, in words an auditor reads."""
    if item.state == ItemState.VERIFIED:
        return "verified: sha256 of the stored copy matched"
    if item.error_code == "verify_mismatch":
        return "mismatch: the stored copy differs from what was sent"
    if item.image_id and (item.state in UPLOADED_STATES or item.state == ItemState.NEEDS_DECISION):
        return "not verified"
    return ""


def _day_start(day: date) -> float:
    """Midnight at the start of ``day`` on this computer's clock, as Unix seconds."""
    return datetime(day.year, day.month, day.day).timestamp()


def _private(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.chmod(f"{path}{suffix}", 0o600)


class HistoryError(MaxUploadError):
    """The history file cannot be used; the message names it. Uploads go on without it."""

    default_next_step = (
        "Uploads are not affected. Move the named file aside (MaxUpload starts a new history) "
        "or contact support."
    )


class HistoryStore:
    """The history file. Thread-safe: one connection behind a lock."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._lock = threading.RLock()
        try:
            if not self.path.exists():
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
            self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"The upload history {self.path} cannot be opened: {exc}.") from exc
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            with self._conn:
                self._conn.executescript(_SCHEMA)
                row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
                if row[0] is None:
                    self._conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION,))
                elif row[0] > SCHEMA_VERSION:
                    raise HistoryError(
                        f"The upload history {self.path} was written by a newer MaxUpload."
                    )
        except sqlite3.Error as exc:
            self._conn.close()
            raise HistoryError(f"The upload history {self.path} is damaged: {exc}.") from exc
        except HistoryError:
            self._conn.close()
            raise
        _private(self.path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ----------------------------------------------------------------------------

    def _id_of(self, item: QueueItem) -> int | None:
        row = self._conn.execute(
            "SELECT id FROM uploads WHERE item_id = ? AND queued_at = ?",
            (item.id, item.created_at),
        ).fetchone()
        return None if row is None else int(row[0])

    def record(self, item: QueueItem) -> int:
        """Write a queue snapshot (a new row, or what changed); returns the history row id."""
        problem = redact(item.error_message or "")
        values: dict[str, Any] = {
            "updated_at": item.updated_at,
            "org_id": item.org_id,
            "base_url": item.base_url,
            "note_id": item.note_id,
            "patient_label": item.patient_label,
            "provider_id": item.provider_id,
            "source_path": item.source_path,
            "file_name": item.file_name,
            "size_original": item.size_original,
            "size_sent": item.size_sent,
            "sha256_original": item.sha256_original,
            "sha256_sent": item.sha256_sent or "",
            "image_id": item.image_id or "",
            "state": item.state.value,
            "server_status": item.server_status or "",
            "verification": verification_of(item),
            "problem": problem,
        }
        with self._lock, self._conn:
            upload_id = self._id_of(item)
            if upload_id is None:
                cur = self._conn.execute(
                    "INSERT INTO uploads (item_id, queued_at, os_user, "
                    f"{', '.join(values)}) VALUES (?, ?, ?, {', '.join('?' * len(values))})",
                    (item.id, item.created_at, os_user(), *values.values()),
                )
                upload_id = int(cur.lastrowid or 0)
                last_state, traces = None, ""
            else:
                last_state, traces = self._conn.execute(
                    "SELECT state, trace_ids FROM uploads WHERE id = ?", (upload_id,)
                ).fetchone()
                self._conn.execute(
                    f"UPDATE uploads SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                    (*values.values(), upload_id),
                )
            if item.trace_id and item.trace_id not in traces.split():
                self._conn.execute(
                    "UPDATE uploads SET trace_ids = ? WHERE id = ?",
                    (f"{traces} {item.trace_id}".strip(), upload_id),
                )
            if item.state.value != last_state:
                self._change(upload_id, item.updated_at, item.state.value, problem)
        return upload_id

    def _change(self, upload_id: int, at: float, state: str, message: str) -> None:
        self._conn.execute(
            "INSERT INTO changes (upload_id, at, state, message) VALUES (?, ?, ?, ?)",
            (upload_id, at, state, message),
        )

    def remember(
        self,
        items: Iterable[QueueItem],
        note: Note | None,
        provider: Provider | None,
        *,
        trash_originals: bool = False,
    ) -> None:
        """Add what the queue does not hold to these photos' rows (recording them if needed)."""
        patient = note.patient if note else None
        assigned = {p.id: p for p in note.assigned_providers} if note else {}
        for item in items:
            who = provider or assigned.get(item.provider_id)
            with self._lock:
                known = self._id_of(item)
            upload_id = known if known is not None else self.record(item)
            with self._lock, self._conn:
                self._conn.execute(
                    "UPDATE uploads SET patient_name = ?, mrn = ?, visit = ?, provider_name = ?, "
                    "trash_original = MAX(trash_original, ?) WHERE id = ?",
                    (
                        patient.display_name if patient else "",
                        (patient.mrn or "") if patient else "",
                        visit_text(note) if note else "",
                        who.display_name if who else "",
                        int(trash_originals),
                        upload_id,
                    ),
                )

    def record_original(self, item: QueueItem, outcome: str) -> None:
        """What became of the original file (moved to the trash, or kept and why)."""
        with self._lock, self._conn:
            upload_id = self._id_of(item)
            if upload_id is None:
                return
            self._conn.execute("UPDATE uploads SET original = ? WHERE id = ?", (outcome, upload_id))
            self._change(upload_id, time.time(), "original", outcome)

    def purge(self, retention_days: int, now: float | None = None) -> int:
        """Remove photos last changed more than ``retention_days`` ago; returns how many."""
        cutoff = (now if now is not None else time.time()) - retention_days * 86400
        with self._lock, self._conn:
            cur = self._conn.execute("DELETE FROM uploads WHERE updated_at < ?", (cutoff,))
            return cur.rowcount

    # --- reading ----------------------------------------------------------------------------

    def entry_for(self, item: QueueItem) -> HistoryEntry | None:
        with self._lock:
            upload_id = self._id_of(item)
        if upload_id is None:
            return None
        found = self._select("WHERE u.id = ?", [upload_id])
        return found[0] if found else None

    def search(
        self,
        *,
        patient: str | None = None,
        mrn: str | None = None,
        note: str | None = None,
        since: date | None = None,
        until: date | None = None,
    ) -> list[HistoryEntry]:
        """Photos matching every given criterion, oldest first. ``patient`` matches part of the
        name; ``mrn`` and ``note`` match exactly; ``since``/``until`` are whole days (local)."""
        where: list[str] = []
        params: list[Any] = []
        if patient:
            where.append(
                "(u.patient_name LIKE ? ESCAPE '\\' OR u.patient_label LIKE ? ESCAPE '\\')"
            )
            pattern = "%" + patient.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params += [pattern + "%", pattern + "%"]
        if mrn:
            where.append("u.mrn = ?")
            params.append(mrn.strip())
        if note:
            where.append("u.note_id = ?")
            params.append(note.strip())
        if since:
            where.append("u.queued_at >= ?")
            params.append(_day_start(since))
        if until:
            where.append("u.queued_at < ?")
            params.append(_day_start(until) + 86400)
        return self._select(("WHERE " + " AND ".join(where)) if where else "", params)

    def _select(self, where: str, params: list[Any]) -> list[HistoryEntry]:
        columns = ", ".join(f"u.{c}" for c in _COLUMNS)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {columns} FROM uploads u {where} ORDER BY u.queued_at, u.id", params
            ).fetchall()
            ids = [r[0] for r in rows]
            changes: dict[int, list[Change]] = {i: [] for i in ids}
            for chunk in range(0, len(ids), 500):
                part = ids[chunk : chunk + 500]
                for upload_id, at, state, message in self._conn.execute(
                    "SELECT upload_id, at, state, message FROM changes "
                    f"WHERE upload_id IN ({', '.join('?' * len(part))}) ORDER BY id",
                    part,
                ):
                    changes[upload_id].append(Change(at, state, message))
        result = []
        for row in rows:
            data = dict(zip(_COLUMNS, row, strict=True))
            data["trash_original"] = bool(data["trash_original"])
            result.append(HistoryEntry(**data, changes=tuple(changes[row[0]])))
        return result


OnVerified = Callable[[QueueItem, HistoryStore], None]


class HistoryRecorder:
    """Writes every committed queue change to the history; runs ``on_verified`` (moving the
    original to the trash when the batch asked for it) after a photo's verification is on file.
    """

    def __init__(
        self,
        queue: QueueStore,
        history: HistoryStore | None,
        on_verified: OnVerified,
        problem: str = "",
    ) -> None:
        self.history = history
        #: Why nothing is recorded ("" while the history works), for the front ends to show.
        self.problem = problem
        self._on_verified = on_verified
        self._unsubscribe = queue.subscribe(self._changed)

    @classmethod
    def attach(cls, queue: QueueStore, retention_days: int | None = None) -> HistoryRecorder:
        """A recorder over the history file beside ``queue``, after removing expired rows."""
        from maxupload.core.history.originals import trash_if_wanted

        try:
            history = HistoryStore(history_path_for(queue.path))
        except HistoryError as exc:  # uploads go on; originals are kept (nothing says to trash)
            log.error("%s %s", exc, exc.next_step)
            return cls(queue, None, trash_if_wanted, problem=str(exc))
        days = retention_days if retention_days is not None else _retention_from_settings()
        if days is not None:
            history.purge(days)
        return cls(queue, history, trash_if_wanted)

    def _changed(self, item: QueueItem) -> None:
        if self.history is None or item.state == ItemState.STAGED:
            return  # a photo is in the history once it is bound to a note
        try:
            self.history.record(item)
            if item.state == ItemState.VERIFIED:
                self._on_verified(item, self.history)
        except Exception:  # the history must never stop an upload
            log.exception("could not record queue item %s in the upload history", item.id)

    def remember(
        self,
        items: Iterable[QueueItem],
        note: Note | None,
        provider: Provider | None,
        *,
        trash_originals: bool = False,
    ) -> None:
        """See ``HistoryStore.remember``; never raises (the upload goes on regardless)."""
        if self.history is None:
            return
        try:
            self.history.remember(items, note, provider, trash_originals=trash_originals)
        except Exception:
            log.exception("could not add the patient and provider to the upload history")

    def close(self) -> None:
        self._unsubscribe()
        if self.history is not None:
            with contextlib.suppress(Exception):
                self.history.close()


def _retention_from_settings() -> int | None:
    """The effective retention; None (keep everything) when the settings cannot be read."""
    from maxupload.core.config.managed import load_effective
    from maxupload.core.errors import MaxUploadError

    try:
        settings, _managed = load_effective()
    except MaxUploadError:
        return None
    return int(settings.history_retention_days)
