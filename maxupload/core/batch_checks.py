"""A batch bound to its note before its photo checks run, each photo queued as soon as its own
checks pass: sending the first photos overlaps checking the later ones, and nothing is ever
sent unchecked.

``queue_for_checks`` writes the whole batch in one transaction, bound to note, provider and
preset, in state ``checking`` (the engine never takes such an item), with the check codes the
user acknowledged for the batch. ``check_and_release`` then reads each photo's facts (one photo
per core) and, as each finishes, queues it and wakes the engine, or stops it: a BLOCK finding,
or a HOLD not acknowledged, cancels it with the finding as its reason. The other photos go on.

``FactsAhead`` starts reading the facts (decode, prepared copy, label scan) before the batch is
bound, while the note is read: they judge nothing until ``check_and_release``.

A crash or a Ctrl+C leaves every photo ``checking`` or further. ``finish_checks`` (``maxupload
queue resume``; the window's restore goes through ``UploadService.submit``) reads each note
again and checks those photos the same way, so an interrupted batch is finished, never lost.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from maxupload.core.api.errors import NoteLocked
from maxupload.core.api.models import Note, Target
from maxupload.core.checks import photo as checks
from maxupload.core.checks.copy_facts import checks_pool
from maxupload.core.checks.photo import CheckCode, PhotoFacts
from maxupload.core.errors import MaxUploadError
from maxupload.core.intake import AcceptedFile
from maxupload.core.queue.model import ItemState, NewItem, QueueItem
from maxupload.core.snapshots import (
    PhotoSnapshot,
    check_outcome,
    facts_columns,
    findings_json,
    snapshot,
)

if TYPE_CHECKING:
    from maxupload.core.uploads import SubmitResult, UploadService

#: The facts reader for photos of one preset (``maxupload upload`` scans the decode that
#: prepares the copy it sends; see ``core.checks.copy_facts``).
ReaderFor = Callable[[str], Callable[[Path], PhotoFacts]]
#: Reads a photo's note again for checks run later: the server's word on it now.
NoteOpener = Callable[[Target], Note]


def _one_per_core(photos: int) -> int:
    """Workers for reading ``photos`` photos' facts: one per core, never more than photos."""
    return max(1, min(photos, os.cpu_count() or 1))


def acknowledged_json(acknowledged: Iterable[CheckCode]) -> str:
    """How a batch's acknowledged check codes are kept on its items."""
    return json.dumps(sorted(c.value for c in acknowledged))


def acknowledged_of(item: QueueItem) -> frozenset[CheckCode]:
    """The check codes the user acknowledged for this photo's batch."""
    return frozenset(CheckCode(c) for c in json.loads(item.acknowledged or "[]"))


def queue_for_checks(
    service: UploadService,
    accepted: Sequence[AcceptedFile],
    note: Note,
    target: Target,
    preset: str,
    *,
    acknowledged: frozenset[CheckCode] = frozenset(),
    trash_originals: bool = False,
) -> list[QueueItem]:
    """Bind every photo of the batch to ``target`` in one transaction, waiting for its checks
    (crash recovery runs first, so the duplicate guard sees true states later). A photo an
    interrupted run left waiting for its checks for the same target and preset (the same
    command run again) is taken into this batch rather than added a second time."""
    from maxupload.core.imaging.prepare import get_preset
    from maxupload.core.uploads import ensure_open

    get_preset(preset)  # ValueError with a clear message for an unknown preset
    ensure_open(note)
    service.engine.recover()
    left = {
        (i.source_path, i.sha256_original): i
        for i in service.store.items(states=[ItemState.CHECKING])
        if i.target == target and i.preset == preset
    }
    adopted = [
        left[k] for k in dict.fromkeys((str(a.path), str(a.sha256)) for a in accepted) if k in left
    ]
    entries = [
        NewItem(Path(a.path), int(a.size), str(a.sha256))
        for a in accepted
        if (str(a.path), str(a.sha256)) not in left
    ]
    items = service.store.add(
        entries, target, preset, checks_pending=acknowledged_json(acknowledged)
    )
    if service.history is not None:  # before any photo is sent or verified
        service.history.remember(items, note, None, trash_originals=trash_originals)
    return sorted(adopted + items, key=lambda i: i.id)


class FactsAhead:
    """Photo facts read ahead, one photo per core, while the files are checked, the note is
    read and the batch is bound: decoding, preparing the copy to send and scanning it for
    labels need neither, and a core would otherwise wait. Nothing is judged against the chart,
    queued or sent here; that is ``check_and_release``, after the whole batch is bound.
    ``add`` starts one more photo (made with no ``paths``, each as intake accepts it); ``close``
    drops what was not used."""

    def __init__(self, paths: Sequence[Path], read: Callable[[Path], PhotoFacts]) -> None:
        self._read = read
        self._pool = checks_pool(_one_per_core(len(paths) or os.cpu_count() or 1))
        self._futures: dict[str, Future[PhotoFacts]] = {}
        for path in paths:
            self.add(path)

    def add(self, path: Path) -> None:
        """Start reading ``path`` (once)."""
        if str(path) not in self._futures:
            self._futures[str(path)] = self._pool.submit(self._read, Path(path))

    def take(self, path: str) -> Future[PhotoFacts] | None:
        """The read started for ``path`` (once), or None."""
        return self._futures.pop(str(path), None)

    def close(self) -> None:
        """Stop reading what was not started; wait for the photos being read (a few tenths)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def check_and_release(
    service: UploadService,
    items: Sequence[QueueItem],
    note: Note,
    *,
    read_for: ReaderFor | None = None,
    hide_stopped: bool = False,
    acknowledged: frozenset[CheckCode] = frozenset(),
    start_each: bool = True,
    ahead: FactsAhead | None = None,
) -> SubmitResult:
    """Check ``checking`` photos against ``note``, one per core, and queue each (waking the
    engine) or stop it as soon as its own checks and those of the photos before it finish, so
    photos reach the note in the order given (a label photo taken first stays first). What
    each photo's batch acknowledged counts, and ``acknowledged`` (the user's word now) too.
    ``hide_stopped``: a stopped photo leaves the list (the command line prints why and forgets
    it, as for one never queued). ``start_each=False``: nothing is started; the caller starts
    ``result.run`` after. ``ahead``: facts already being read for some photos come from there."""
    from maxupload.core.uploads import SubmitResult

    result = SubmitResult(note)
    if not items:
        return result
    reader = read_for or (lambda _preset: service.read_facts)
    pool = checks_pool(_one_per_core(len(items)))
    try:
        futures: dict[Future[PhotoFacts], QueueItem] = {}
        for i in items:
            early = ahead.take(i.source_path) if ahead is not None else None
            futures[early or pool.submit(reader(i.preset), Path(i.source_path))] = i
        for done, item in futures.items():  # in the batch's order, as the engine sends
            ok_facts = done.result()
            ok = acknowledged | acknowledged_of(item)
            started = _decide(service, item, ok_facts, note, result, ok, hide_stopped)
            if started is not None and start_each:
                service.engine.start(only=[started])  # sent while the next are still checked
    finally:  # Ctrl+C: photos not decided yet stay "checking", for 'queue resume'
        pool.shutdown(wait=True, cancel_futures=True)
    return result


def _decide(
    service: UploadService,
    item: QueueItem,
    facts: PhotoFacts,
    note: Note,
    result: SubmitResult,
    acknowledged: frozenset[CheckCode],
    hide_stopped: bool,
) -> int | None:
    """Queue one checked photo or stop it, recording what the checks read; returns the id of
    the item to start (the photo's, or an earlier one standing for it), None when stopped."""
    found = service.evaluate(facts, note)
    columns = {**facts_columns(facts), "findings": findings_json(found)}
    stops = checks.held_or_blocked(found, acknowledged)
    if stops:
        outcome = check_outcome(stops)
        stopped = service.store.update(
            item.id,
            ItemState.CANCELLED,
            expect={ItemState.CHECKING},
            message=f"not sent, stopped by the photo checks: {outcome.message}",
            error_kind="cancelled",
            error_code=outcome.code,
            error_message=outcome.message,
            next_step=outcome.terminal_step,
            hidden=hide_stopped,
            **columns,
        )
        result.stopped.append(PhotoSnapshot(stopped, outcome, tuple(found)))
        return None
    queued = service.store.release_checked(
        item.id, f"photo checks passed; queued for note {note.id}", **columns
    )
    return service.record_queued(queued, result)


@dataclass
class FinishedChecks:
    """What ``finish_checks`` did with photos left waiting for their checks."""

    results: list[SubmitResult] = field(default_factory=list)  # one per note read
    #: Photos whose note is signed now: failed with the reason, never sent.
    refused: list[PhotoSnapshot] = field(default_factory=list)
    #: Notes that could not be read (network, key): their photos stay waiting, with why.
    unread: list[tuple[Target, int, MaxUploadError]] = field(default_factory=list)

    @property
    def run(self) -> list[int]:
        return [i for r in self.results for i in r.run]


def finish_checks(
    service: UploadService,
    open_note: NoteOpener,
    *,
    ids: Iterable[int] | None = None,
    read_for: ReaderFor | None = None,
    hide_stopped: bool = False,
) -> FinishedChecks:
    """Finish photos left ``checking`` by an interrupted run (all, or ``ids``): each note is
    read again (a signed one fails its photos, with the reason), then the photos are checked
    and queued or stopped as ``check_and_release`` does."""
    from maxupload.core.uploads import ensure_open

    service.engine.recover()
    waiting = service.store.items(states=[ItemState.CHECKING], ids=ids, include_hidden=True)
    groups: dict[Target, list[QueueItem]] = {}
    for item in waiting:
        groups.setdefault(item.target, []).append(item)
    out = FinishedChecks()
    for target, items in groups.items():
        try:
            note = open_note(target)
            ensure_open(note)
        except NoteLocked as exc:
            out.refused.extend(_refuse(service, items, exc))
            continue
        except MaxUploadError as exc:
            out.unread.append((target, len(items), exc))
            continue
        out.results.append(
            check_and_release(service, items, note, read_for=read_for, hide_stopped=hide_stopped)
        )
    return out


def _refuse(
    service: UploadService, items: Sequence[QueueItem], exc: NoteLocked
) -> list[PhotoSnapshot]:
    """Photos whose note was signed while they waited: failed, never sent, with the reason."""
    return [
        snapshot(
            service.store.update(
                item.id,
                ItemState.FAILED,
                expect={ItemState.CHECKING},
                message="not sent: the note is signed now",
                error_kind="failed",
                error_code="note_locked",
                error_message=str(exc),
                next_step="Ask the provider to add an addendum, or send the photo to another note.",
            )
        )
        for item in items
    ]
