"""The queue file's schema, its migrations, and how the file is opened and written.

Migration N brings the file to schema version N; a file from a newer MaxUpload is refused
rather than changed. The file and its folder are owner-only; WAL with ``synchronous=FULL``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from maxupload.core.queue.model import QueueStoreError
from maxupload.core.system.logsetup import redact

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

# Version 4: photos bound to their note while their photo checks still run (state 'checking'),
# with the checks the user acknowledged for their batch, so a later run decides the same way.
# An older MaxUpload refuses the file rather than meet a state it does not know.
_V4 = """
ALTER TABLE items ADD COLUMN acknowledged TEXT;
"""

#: Schema migrations in order; migration N brings the file to version N.
MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4)
SCHEMA_VERSION = len(MIGRATIONS)


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


def record_event(conn: sqlite3.Connection, item_id: int, state: str, message: str) -> None:
    """Add a line to an item's history (in the caller's transaction)."""
    conn.execute(
        "INSERT INTO events (item_id, at, state, message) VALUES (?, ?, ?, ?)",
        (item_id, _now(), state, _free_text(message)),
    )


def _free_text(text: str) -> str:
    """Wording for the file: keys masked, undecodable bytes of a quoted file name escaped."""
    return redact(text).encode("utf-8", "backslashreplace").decode("utf-8")
