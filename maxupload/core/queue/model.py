"""A queued photo: its states, the rules on its fields, and the queue's errors.

State machine (``ItemState``)::

    staged ─(bound to a note)─> queued
    checking ─(its photo checks pass)─> queued;  ─(a check stops it)─> cancelled

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
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from maxupload.core.api.models import Target
from maxupload.core.errors import MaxUploadError
from maxupload.core.queue.filenames import from_storage


class ItemState(enum.StrEnum):
    """Where one photo is on its way to the note."""

    STAGED = "staged"  # added and checked, not bound to a note yet (kept across restarts)
    CHECKING = "checking"  # bound to its note; never sent while its photo checks run
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
#: Bound for a note and not settled: waiting (for its checks, or to be sent) or being worked on.
ON_ITS_WAY_STATES = WAITING_STATES | ACTIVE_STATES | {ItemState.CHECKING}
#: Bound for a note and not started: what a restored queue waits to send (after its checks).
RESUMABLE_STATES = WAITING_STATES | {ItemState.CHECKING}
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
        "acknowledged",
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
    #: JSON list of the check codes the user acknowledged for this photo's batch (e.g. another
    #: day), so checks run later (``queue resume``) decide as the batch would have.
    acknowledged: str | None = None

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


def _item(row: Sequence[Any]) -> QueueItem:
    values = dict(zip(_ITEM_COLUMNS, row, strict=True))
    values["source_path"] = from_storage(values["source_path"])
    values["file_name"] = from_storage(values["file_name"])
    values["state"] = ItemState(values["state"])
    values["duplicate_ok"] = bool(values["duplicate_ok"])
    values["hidden"] = bool(values["hidden"])
    values["facts_read"] = bool(values["facts_read"])
    return QueueItem(**values)
