"""One row of the photo list (``PhotoRow``), made from the core's snapshot of a photo.

The row keeps what the list shows about one photo; its label and colour come from the
photo's ``Outcome`` (see ``status_text.outcome_status``), never from a table of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from maxupload.core.checks.photo import Finding
from maxupload.core.outcomes import Outcome, OutcomeKind
from maxupload.core.queue.model import ON_ITS_WAY_STATES, STORED_STATES, ItemState
from maxupload.core.uploads import PhotoSnapshot, snapshot
from maxupload.gui.status_text import StatusText, Tone, outcome_status

_NOT_SENT_YET = Outcome(OutcomeKind.STAGED, "staged", "Added, not sent yet.", "")


@dataclass
class PhotoRow:
    """Everything the list shows about one photo."""

    path: Path
    size_before: int
    sha256: str = ""
    item_id: int | None = None  # the queue row (staged photos are rows too)
    state: ItemState = ItemState.STAGED
    server_status: str | None = None
    size_after: int | None = None
    size_after_is_estimate: bool = True
    sent: int = 0
    total: int = 0
    error: str = ""
    next_step: str = ""
    trace_id: str | None = None
    error_kind: str = ""
    image_id: str | None = None
    note_id: str | None = None
    target_label: str = ""
    revision: int = -1  # the queue row's revision this snapshot shows
    extra: dict[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()  # the photo checks' findings for the chosen note
    outcome: Outcome | None = None  # the core's outcome for this photo
    facts_read: bool = False  # the photo checks have read this photo

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def group(self) -> str:
        """The note this photo is queued for ("" while it is not queued yet)."""
        return "" if self.is_staged else (self.note_id or "?")

    @property
    def patient(self) -> str:
        """The patient it is queued for, by name ("" while not queued)."""
        return self.target_label.split(" (", 1)[0].split(", visit", 1)[0].strip()

    @property
    def key(self) -> str:
        return f"q:{self.item_id}" if self.item_id is not None else f"f:{self.path}"

    @property
    def status_outcome(self) -> Outcome:
        """The core's outcome of this photo (a row made without one was only added)."""
        return self.outcome or _NOT_SENT_YET

    @property
    def status(self) -> StatusText:
        """The label, hint and colour of the row, from the core's outcome alone."""
        return outcome_status(self.status_outcome)

    @property
    def is_skipped_copy(self) -> bool:
        """A copy of a picture that is sent only if the user includes it."""
        return self.status_outcome.kind is OutcomeKind.SKIPPED

    @property
    def check_stop(self) -> Outcome | None:
        """The outcome when a photo check holds or blocks this staged photo."""
        if self.outcome is not None and self.outcome.kind in (
            OutcomeKind.HELD,
            OutcomeKind.BLOCKED,
        ):
            return self.outcome
        return None

    @property
    def tone(self) -> Tone:
        return self.status.tone

    @property
    def is_staged(self) -> bool:
        return self.state == ItemState.STAGED

    @property
    def is_active(self) -> bool:
        """Bound for a note and on its way (waiting, being prepared or sent)."""
        return self.state in ON_ITS_WAY_STATES

    @property
    def is_stored(self) -> bool:
        return self.state in STORED_STATES and self.image_id is not None

    @property
    def fraction(self) -> float:
        if self.state in STORED_STATES:
            return 1.0
        if self.state == ItemState.UPLOADING and self.total > 0:
            return min(1.0, self.sent / self.total)
        return 0.0


def human_size(size: int | None) -> str:
    """Bytes as a short text (decimal units, as file managers show them)."""
    if size is None:
        return "…"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def row_from_item(item: Any, previous: PhotoRow | None = None) -> PhotoRow:
    """A list row for a ``PhotoSnapshot`` or ``QueueItem`` (keeps live progress of the previous
    row)."""
    snap = item if isinstance(item, PhotoSnapshot) else snapshot(item)
    item = snap.item
    row = PhotoRow(
        path=Path(item.source_path),
        size_before=int(item.size_original),
        sha256=item.sha256_original,
        item_id=int(item.id),
        state=item.state,
        server_status=item.server_status,
        size_after=item.size_sent if item.size_sent is not None else None,
        size_after_is_estimate=item.size_sent is None,
        error=item.error_message or "",
        next_step=snap.outcome.next_step,  # the words for people (no command lines)
        trace_id=item.trace_id,
        error_kind=item.error_code or item.error_kind or "",
        image_id=item.image_id,
        note_id=item.note_id,
        target_label=item.patient_label,
        revision=int(getattr(item, "revision", 0)),
        extra={"preset": item.preset, "provider_id": item.provider_id},
        findings=snap.findings,
        outcome=snap.outcome,
        facts_read=item.facts_read,
    )
    if previous is not None:
        if row.size_after is None:
            row.size_after = previous.size_after
        if row.state == ItemState.UPLOADING:
            row.sent, row.total = previous.sent, previous.total
    return row
