"""The upload service: the one path from "photos added" to "photos on their way", used by the
window and by ``maxupload upload`` alike (neither repeats a step or a rule).

- ``stage``: intake (expand folders, sniff types, reject with reasons), read each photo's facts
  for the photo checks once, and save it in the queue at once (state ``staged``), so an added
  photo survives a crash or a restart.
- ``open_note`` / ``submit``: the note is read and a signed one refused; crash recovery runs
  before anything reads the queue; each photo is checked against the chart (a BLOCK finding
  refuses it for this note, a HOLD finding keeps it until acknowledged for this batch); the
  rest are bound to the note for good, twins are settled (an unsent twin left by an earlier run
  is sent in place, a photo already on the note is not queued again) and the engine starts.
- ``retry``, ``cancel``, ``send_again``, ``remove``: the user's actions on queued photos.

Everything returns ``PhotoSnapshot`` values: a state enum, the checks' findings and one
``Outcome`` worked out here. Qt-free; the window adapts it to signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from maxupload.core import duplicates
from maxupload.core.api.errors import NoteLocked
from maxupload.core.api.models import Note, Target
from maxupload.core.checks import photo as checks
from maxupload.core.checks.copy_facts import map_parallel
from maxupload.core.checks.photo import CheckCode, Finding, PhotoFacts
from maxupload.core.checks.visit_time import visit_text
from maxupload.core.history.store import HistoryRecorder
from maxupload.core.intake import AcceptedFile, IntakeResult, merge_results, scan_in_parts
from maxupload.core.outcomes import OutcomeKind
from maxupload.core.queue.another_note import MoveResult, move_to_new_batch
from maxupload.core.queue.model import WAITING_STATES, ItemState, QueueItem, StagedEntry
from maxupload.core.queue.store import QueueStore
from maxupload.core.queue.texts import duplicate_message
from maxupload.core.snapshots import (
    PhotoSnapshot,
    check_outcome,
    facts_columns,
    facts_of,
    findings_json,
    findings_of,
    item_outcome,
    snapshot,
)

__all__ = [
    "PhotoSnapshot",
    "StageResult",
    "SubmitResult",
    "UploadService",
    "check_outcome",
    "facts_of",
    "findings_of",
    "item_outcome",
    "patient_label",
    "snapshot",
    "target_label",
]


class NoteReader(Protocol):
    """The one call of the API client the service needs to check a note."""

    def get_note(self, note_id: str) -> Note: ...


class EnginePort(Protocol):
    """What the service asks of the upload engine (``UploadEngine``)."""

    def recover(self) -> list[QueueItem]: ...

    def start(self, only: Iterable[int] | None = None) -> None: ...

    def retry(self, item_id: int) -> QueueItem: ...

    def cancel(self, item_id: int) -> bool: ...

    def send_again(self, item_id: int, *, confirm_duplicate: bool = False) -> QueueItem: ...

    def remove(self, item_id: int) -> QueueItem: ...


FactsReader = Callable[[Path], PhotoFacts]
Evaluator = Callable[[PhotoFacts, Note], list[Finding]]


# --- labels -------------------------------------------------------------------------------


def patient_label(note: Note) -> str:
    """The patient as every front end names them: ``Rivera, Elena (MRN 1234, DOB 1980-02-03)``."""
    patient = note.patient
    if patient is None:
        return f"note {note.id}"
    return (
        f"{patient.display_name} (MRN {patient.mrn or 'none'}, "
        f"DOB {patient.date_of_birth or 'unknown'})"
    )


def target_label(note: Note) -> str:
    """What a queued photo remembers of its target: the patient and the visit."""
    return f"{patient_label(note)}, visit {visit_text(note)}"


def ensure_open(note: Note) -> None:
    """Refuse a signed note before anything is queued for it (NoteLocked)."""
    if note.is_locked:
        raise NoteLocked(
            f"Note {note.id} for {patient_label(note)} is signed and takes no more images; "
            "nothing was sent.",
            status=409,
            code="conflict",
        )


# --- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageResult:
    """What ``stage`` made of the files given."""

    photos: list[PhotoSnapshot]
    intake: IntakeResult
    reused: frozenset[int] = frozenset()  # ids of photos that were already staged

    @property
    def added(self) -> list[PhotoSnapshot]:
        """Photos staged by this call (not those given back because they were staged)."""
        return [p for p in self.photos if p.id not in self.reused]


def merge_staged(parts: Sequence[StageResult]) -> StageResult:
    """One ``StageResult`` of the parts of one ``stage_in_parts`` call, in their order."""
    return StageResult(
        [p for part in parts for p in part.photos],
        merge_results([part.intake for part in parts]),
        frozenset().union(*(part.reused for part in parts)),
    )


@dataclass
class SubmitResult:
    """What ``submit`` did with each staged photo."""

    note: Note
    run: list[int] = field(default_factory=list)  # item ids the engine was started on
    queued: list[PhotoSnapshot] = field(default_factory=list)  # bound to the note now
    stopped: list[PhotoSnapshot] = field(default_factory=list)  # held or blocked by a check
    #: Photos not queued again because an earlier item stands for them (already on the note,
    #: waiting for a decision, or an unsent twin sent in their place): staged id -> that item.
    stand_ins: dict[int, PhotoSnapshot] = field(default_factory=dict)
    #: Of those, the copies of a picture already in the EHR: listed as skipped, to include.
    skipped: list[PhotoSnapshot] = field(default_factory=list)


# --- the service --------------------------------------------------------------------------


class UploadService:
    """The upload steps both front ends call. Thread-safe as far as the store and engine are;
    call it off the GUI thread (it reads files and the queue)."""

    def __init__(
        self,
        store: QueueStore,
        engine: EnginePort,
        *,
        read_facts: FactsReader | None = None,
        evaluate: Evaluator | None = None,
        history: HistoryRecorder | None = None,
    ) -> None:
        self.store = store
        self.engine = engine
        self.history = history  # the upload history: patient, visit, provider, trash choice
        self._read_facts = read_facts
        self._evaluate = evaluate

    def read_facts(self, path: Path) -> PhotoFacts:
        """The photo's facts (``maxupload.core.checks`` unless other checks were given)."""
        return (self._read_facts or checks.read_facts)(path)

    def evaluate(self, facts: PhotoFacts, note: Note) -> list[Finding]:
        return (self._evaluate or checks.evaluate)(facts, note)

    # --- staging --------------------------------------------------------------------------

    def stage(
        self, paths: Sequence[Path], *, reuse_staged: bool = False, read_now: bool = True
    ) -> StageResult:
        """Scan files and folders, save the photos, and read each photo's facts once
        (``read_now=False``: later, one photo at a time, with ``read_facts_of``)."""
        parts = self.stage_in_parts(paths, reuse_staged=reuse_staged, read_now=read_now)
        return merge_staged(list(parts))

    def stage_in_parts(
        self,
        paths: Sequence[Path],
        *,
        first: int | None = None,
        size: int | None = None,
        reuse_staged: bool = False,
        read_now: bool = True,
    ) -> Iterator[StageResult]:
        """``stage`` a part at a time (see ``intake.scan_in_parts``): each part's photos are
        saved before the next part is read, so a long list can be shown as it grows."""
        before = {i.id for i in self.store.items(states=[ItemState.STAGED])}
        for intake in scan_in_parts([Path(p) for p in paths], first=first, size=size):
            # Copies of a picture are listed too, marked as skipped (see core.duplicates).
            photos = self.stage_accepted(
                intake.accepted, reuse_staged=reuse_staged, read_now=read_now
            )
            marked = duplicates.mark_copies(self.store, [p.item for p in photos])
            photos = [snapshot(i) for i in marked]
            yield StageResult(photos, intake, frozenset(p.id for p in photos if p.id in before))

    def stage_accepted(
        self,
        accepted: Sequence[AcceptedFile],
        *,
        reuse_staged: bool = False,
        read_now: bool = True,
    ) -> list[PhotoSnapshot]:
        """Save photos intake accepted. ``reuse_staged``: a file already staged (added twice
        to the same list) gives its staged row back instead of a second one."""
        staged = {i.source_path: i for i in self.store.items(states=[ItemState.STAGED])}
        known: set[str] = set()
        reused: list[PhotoSnapshot] = []
        entries: list[StagedEntry] = []
        for photo in accepted:
            if str(photo.path) in known:
                continue
            if reuse_staged and str(photo.path) in staged:
                reused.append(snapshot(staged[str(photo.path)]))
                continue
            known.add(str(photo.path))
            entries.append(StagedEntry(Path(photo.path), int(photo.size), str(photo.sha256)))
        if read_now:  # one photo per core: decoding and scanning release Python's lock
            read = map_parallel(self.read_facts, [e.source_path for e in entries])
            entries = [
                StagedEntry(e.source_path, e.size, e.sha256, **facts_columns(f))
                for e, f in zip(entries, read, strict=True)
            ]
        return reused + [snapshot(i) for i in self.store.stage(entries)]

    # --- the note -------------------------------------------------------------------------

    @staticmethod
    def open_note(reader: NoteReader, note_id: str) -> Note:
        """The server's word on the note right now; a signed note is refused (NoteLocked)."""
        note = reader.get_note(note_id)
        ensure_open(note)
        return note

    def read_facts_of(self, item_id: int) -> PhotoSnapshot:
        """Read a staged photo's facts once (slow: a decode and a barcode scan) and save them."""
        return snapshot(self._with_facts(self.store.get(int(item_id))))

    def _with_facts(self, item: QueueItem) -> QueueItem:
        if item.state != ItemState.STAGED or item.facts_read:
            return item
        facts = self.read_facts(Path(item.source_path))
        return self.store.update(item.id, **facts_columns(facts))

    def check(self, ids: Sequence[int], note: Note | None) -> list[PhotoSnapshot]:
        """Record the checks' findings of staged photos for ``note`` (cheap: the facts were read
        at staging), so a front end shows them before anything is sent; no note clears them."""
        out: list[PhotoSnapshot] = []
        for item_id in ids:
            item = self.store.get(int(item_id))
            if item.state != ItemState.STAGED:
                continue
            found = self.evaluate(facts_of(item), note) if note is not None else []
            out.append(snapshot(self.store.update(item.id, findings=findings_json(found))))
        return out

    # --- submit ---------------------------------------------------------------------------

    def submit(
        self,
        ids: Sequence[int],
        note: Note,
        *,
        provider_id: str,
        preset: str,
        base_url: str,
        org_id: str,
        acknowledged: frozenset[CheckCode] = frozenset(),
        waiting: Sequence[int] = (),
        trash_originals: bool = False,
    ) -> SubmitResult:
        """Check and queue staged photos ``ids`` for ``note`` and start them (with ``waiting``:
        items already queued for this note, e.g. restored after a restart). With
        ``trash_originals`` their originals go to the trash once verified."""
        from maxupload.core.imaging.prepare import get_preset

        get_preset(preset)  # ValueError with a clear message for an unknown preset
        ensure_open(note)
        self.engine.recover()  # before anything reads the queue: the guard sees true states
        target = Target(
            org_id=org_id,
            note_id=note.id,
            provider_id=provider_id,
            patient_label=target_label(note),
            base_url=base_url,
        )
        result = SubmitResult(note, run=[int(i) for i in waiting])
        for item_id in ids:
            item = self.store.get(item_id)
            if item.state != ItemState.STAGED:
                continue
            item = self._with_facts(item)  # never sent unchecked, even if not read yet
            found = self.evaluate(facts_of(item), note)
            item = self.store.update(item.id, findings=findings_json(found))
            if checks.held_or_blocked(found, acknowledged):
                result.stopped.append(snapshot(item))
                continue
            self.record_queued(self.store.bind(item_id, target, preset), result)
        if self.history is not None:  # before the start, so no verification comes first
            batch = [s.item for s in result.queued] + self.store.items(ids=waiting)
            self.history.remember(batch, note, None, trash_originals=trash_originals)
        self._finish_checks_of(waiting, note, result, acknowledged)
        self.engine.start(only=result.run)
        return result

    def _finish_checks_of(
        self,
        ids: Sequence[int],
        note: Note,
        result: SubmitResult,
        acknowledged: frozenset[CheckCode],
    ) -> None:
        """Photos of ``ids`` an interrupted run left waiting for their checks for ``note``
        (restored): checked now, each queued or stopped (``core.batch_checks``), and started
        with the rest of the batch, so the queue does not run dry between two checks."""
        from maxupload.core.batch_checks import check_and_release

        pending = [
            i
            for i in self.store.items(ids=ids, states=[ItemState.CHECKING])
            if i.note_id == note.id
        ]
        checked = check_and_release(
            self, pending, note, acknowledged=acknowledged, start_each=False
        )
        result.run = [i for i in result.run if i not in {p.id for p in pending}] + checked.run
        result.queued.extend(checked.queued)
        result.stopped.extend(checked.stopped)
        result.stand_ins.update(checked.stand_ins)
        result.skipped.extend(checked.skipped)

    def record_queued(self, bound: QueueItem, result: SubmitResult) -> int:
        """Note a photo just queued in ``result``, settling its twin (``settle_twin``); returns
        the id of the item to start: the photo's own, or the earlier item standing for it."""
        settled = self.settle_twin(bound, result.run)
        if settled is None:
            started = bound.id
            result.queued.append(snapshot(self.store.get(bound.id)))
        else:
            stand_in, withdrawn = settled
            result.stand_ins[bound.id] = stand_in
            if withdrawn.outcome.kind is OutcomeKind.SKIPPED:
                result.skipped.append(withdrawn)
            started = stand_in.id
        if started not in result.run:
            result.run.append(started)
        return started

    def settle_twin(
        self, item: QueueItem, run: list[int]
    ) -> tuple[PhotoSnapshot, PhotoSnapshot] | None:
        """A photo the guard held because of an earlier item for the same note: when that item
        was never sent (left by a crash, as the same provider and preset) it is sent in place;
        when it is on the note or waits for the user's decision, it stands for this photo and
        no second decision item is made. Returns the standing-in item and this photo as it was
        left, or None."""
        if item.error_code != "duplicate" or item.duplicate_of is None:
            return None
        earlier = self.store.get(item.duplicate_of)
        same_binding = (earlier.provider_id, earlier.preset) == (item.provider_id, item.preset)
        if earlier.state in WAITING_STATES and same_binding and earlier.id not in run:
            reason = f"Already queued as item {earlier.id}, which is sent instead."
            code = "queued_earlier"
            if earlier.state == ItemState.RETRY_LATER:
                earlier = self.store.update(
                    earlier.id,
                    ItemState.QUEUED,
                    expect={ItemState.RETRY_LATER},
                    message="sent now: the same photo was added again",
                    next_attempt_at=None,
                    retry_count=0,
                )
        elif earlier.reached_server and earlier.state != ItemState.NEEDS_DECISION:
            reason, code = duplicate_message(earlier, item.id)[0], duplicates.ALREADY_SENT
        elif earlier.state == ItemState.NEEDS_DECISION and not earlier.hidden:
            reason, code = (
                f"Already waiting for your decision as item {earlier.id}.",
                "already_waiting",
            )
        else:
            return None
        withdrawn = self.store.update(
            item.id,
            ItemState.CANCELLED,
            message=f"not queued again: item {earlier.id} stands for this photo",
            error_kind="cancelled",
            error_code=code,
            error_message=reason,
            next_step=None,
            hidden=code != duplicates.ALREADY_SENT,  # a skipped copy stays listed
        )
        return snapshot(earlier), snapshot(withdrawn)

    # --- the user's actions on queued photos ---------------------------------------------

    def retry(self, ids: Sequence[int]) -> list[PhotoSnapshot]:
        """Queue again photos that stored nothing (or check a stored copy again), and start."""
        return self._restart(ids, self.engine.retry)

    def send_again(self, ids: Sequence[int]) -> list[PhotoSnapshot]:
        """Send photos that wait for a decision, knowing a second copy may result."""
        return self._restart(ids, lambda i: self.engine.send_again(i, confirm_duplicate=True))

    def _restart(
        self, ids: Sequence[int], action: Callable[[int], QueueItem]
    ) -> list[PhotoSnapshot]:
        out = [snapshot(action(int(i))) for i in ids]
        self.engine.start(only=[int(i) for i in ids])
        return out

    def include(self, ids: Sequence[int]) -> list[PhotoSnapshot]:
        """Send skipped copies of a picture after all ("Include anyway")."""
        out = [snapshot(duplicates.include(self.store, self.engine, int(i))) for i in ids]
        held = [s.id for s in out if s.state != ItemState.STAGED]
        if held:
            self.engine.start(only=held)
        return out

    def cancel(self, ids: Sequence[int]) -> list[bool]:
        """Stop photos on their way (one already sent then waits for a decision)."""
        return [bool(self.engine.cancel(int(i))) for i in ids]

    def remove(self, item_id: int) -> PhotoSnapshot:
        """Take a photo off the list; a staged one was never sent, so nothing is remembered."""
        item = self.store.get(item_id)
        if item.state == ItemState.STAGED:
            removed = self.store.update(
                item_id,
                ItemState.CANCELLED,
                expect={ItemState.STAGED},
                message="removed before it was sent",
                hidden=True,
            )
            duplicates.release_copies(self.store, item_id)
            return snapshot(removed)
        return snapshot(self.engine.remove(item_id))

    def move_to_new_batch(self, ids: Sequence[int]) -> MoveResult:
        """Photos refused for their note (signed, gone) added again as not sent yet, for the
        note the user picks next; a fresh confirmation of that patient must cover them."""
        return move_to_new_batch(self.store, self.engine, ids)

    def staged(self) -> list[PhotoSnapshot]:
        """Photos added and not sent yet (kept across restarts)."""
        return [snapshot(i) for i in self.store.items(states=[ItemState.STAGED])]
