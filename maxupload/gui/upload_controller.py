"""The window's side of the upload service: runs each service call on a worker pool and hands
the results back as signals on the GUI thread (workers never touch widgets).

The steps and rules themselves live in ``maxupload.core.uploads``; this only adapts them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from maxupload.core.api.models import Note
from maxupload.core.checks.photo import CheckCode
from maxupload.core.uploads import NoteReader, StageResult, UploadService, merge_staged
from maxupload.gui.tasks import TaskPool

#: The photo checks' reads wait behind thumbnails (priority 1) and size estimates (-1) on the
#: image pool: they are needed before Upload, not for the first screen, and Upload reads any
#: photo not yet read itself before anything is sent.
CHECKS_PRIORITY = -2
#: A drop is listed in parts: a few rows first, then larger parts (fewer relayouts). The list's
#: first paint of rows is the longest pass on the window's thread after a drop: with 6 rows
#: instead of 16, 100 photos dropped, the longest stall was under 33 ms in 10 of 10 runs (25.5 ms
#: median, 31.0 at most; 8 of 10 before), and the first rows showed at 0.06 s instead of 0.14 s.
FIRST_PART = 6
PART_SIZE = 48
#: After handing over a drop's first part, the thread reading the drop waits until the window
#: has painted those rows (``first_rows_shown``), at most this long. Reading files is Python
#: work that shares the interpreter's lock with the window's thread, whose Python work then ran
#: at about half speed (QPainter.drawText: 24 us a call alone, 43 us beside a busy Python
#: thread). 100 photos dropped, 10 alternating runs each: longest stall 20.4 ms median against
#: 23.5 ms, lower in 8 of the 10 pairs; all rows listed at 0.79 s against 0.78 s.
FIRST_ROWS_WAIT_S = 0.25


@dataclass(frozen=True)
class SubmitRequest:
    """What the window asks to send: staged photo ids and queued ones for the chosen note."""

    staged: list[int]
    waiting: list[int]
    note_id: str
    provider_id: str
    preset: str
    base_url: str
    org_id: str
    acknowledged: frozenset[CheckCode] = frozenset()
    trash_originals: bool = False  # move originals to the trash once verified


class UploadController(QObject):
    """Adapts ``UploadService`` to Qt.

    Signals:
        part_staged(object): a ``StageResult`` of the files read so far (for listing rows).
        staged(object): a ``StageResult`` (photos saved as staged, files rejected), once.
        facts_read(object): a ``PhotoSnapshot`` once the checks have read that photo.
        checked(list): ``PhotoSnapshot`` values with the checks' findings for a chosen note.
        submitted(object): a ``SubmitResult``.
        submit_failed(object): the exception that stopped a submit (e.g. the note was signed).
        changed(list): ``PhotoSnapshot`` values after a user action (retry, send again, remove).
        moved(object): a ``MoveResult`` once failed photos wait to go to another note.
        failed(object): the exception of any other failed call.
    """

    part_staged = Signal(object)
    staged = Signal(object)
    facts_read = Signal(object)
    checked = Signal(list)
    submitted = Signal(object)
    submit_failed = Signal(object)
    changed = Signal(list)
    moved = Signal(object)
    failed = Signal(object)

    def __init__(
        self,
        service: UploadService,
        io_pool: TaskPool,
        image_pool: TaskPool,
        reader: Callable[[], NoteReader],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.service = service
        self.io_pool = io_pool
        self.image_pool = image_pool
        self.reader = reader
        self._checks: list[tuple[list[int], Note | None]] = []
        #: Drops whose reading thread waits for their first rows to be shown.
        self._waiting_readers: list[threading.Event] = []
        #: Files in the first part of a drop (about a screen of rows) and in each part after.
        self.first_part = FIRST_PART
        self.part_size = PART_SIZE
        #: How long a drop's reading waits for its first rows to be shown, at most.
        self.first_rows_wait_s = FIRST_ROWS_WAIT_S
        self._checking = False

    def stage(self, paths: Sequence[Path]) -> None:
        """Scan and save the photos as staged, a part at a time (``part_staged``: rows appear
        while the rest is read), then ``staged`` once with everything; then read each photo's
        facts for the checks in its own job on the image pool (a decode and a barcode scan).
        After the first part the reading waits for ``first_rows_shown`` (at most
        ``first_rows_wait_s``), so the window paints those rows without sharing Python's lock."""
        wanted = [Path(p) for p in paths]
        service, first, size = self.service, self.first_part, self.part_size
        wait_s = self.first_rows_wait_s
        shown = threading.Event()
        self._waiting_readers.append(shown)

        def job() -> StageResult:
            parts = []
            for part in service.stage_in_parts(
                wanted, first=first, size=size, reuse_staged=True, read_now=False
            ):
                parts.append(part)
                self.part_staged.emit(part)  # queued to the GUI thread, before the result
                if len(parts) == 1:
                    shown.wait(wait_s)
            return merge_staged(parts)

        self.image_pool.submit(job, self._staged, self.failed.emit)

    def first_rows_shown(self) -> None:
        """The window has painted the rows of the drops handed to it: their reading goes on."""
        waiting, self._waiting_readers = self._waiting_readers, []
        for shown in waiting:
            shown.set()

    def _staged(self, result: Any) -> None:
        self.staged.emit(result)
        self.read_facts([p.id for p in result.photos if not p.item.facts_read])

    def read_facts(self, ids: Sequence[int]) -> None:
        """Read the facts of staged photos not read yet (e.g. restored after a crash)."""
        for item_id in ids:
            self.image_pool.submit(
                self._fact_reader(item_id),
                self.facts_read.emit,
                self.failed.emit,
                priority=CHECKS_PRIORITY,
            )

    def _fact_reader(self, item_id: int) -> Callable[[], Any]:
        return lambda: self.service.read_facts_of(item_id)

    def check(self, ids: Sequence[int], note: Note | None) -> None:
        """Work out the checks' findings of staged photos for ``note`` (shown before Upload;
        no note clears them). One at a time, in order: the last note chosen has the last word."""
        wanted = list(ids)
        if wanted:
            self._checks.append((wanted, note))
            if not self._checking:
                self._next_check()

    def _next_check(self) -> None:
        if not self._checks:
            self._checking = False
            return
        self._checking = True
        ids, note = self._checks.pop(0)
        self.io_pool.submit(
            lambda: self.service.check(ids, note), self._check_done, self._check_failed
        )

    def _check_done(self, snapshots: list[Any]) -> None:
        self.checked.emit(snapshots)
        self._next_check()

    def _check_failed(self, exc: BaseException) -> None:
        self.failed.emit(exc)
        self._next_check()

    def submit(self, request: SubmitRequest) -> None:
        """Read the note (the server's word on the lock, now), check, queue and start."""
        service, reader = self.service, self.reader

        def job() -> Any:
            note = service.open_note(reader(), request.note_id)
            return service.submit(
                request.staged,
                note,
                provider_id=request.provider_id,
                preset=request.preset,
                base_url=request.base_url,
                org_id=request.org_id,
                acknowledged=request.acknowledged,
                waiting=request.waiting,
                trash_originals=request.trash_originals,
            )

        self.io_pool.submit(job, self.submitted.emit, self.submit_failed.emit)

    def retry(self, ids: Sequence[int]) -> None:
        self._run(lambda: self.service.retry(list(ids)))

    def send_again(self, ids: Sequence[int]) -> None:
        self._run(lambda: self.service.send_again(list(ids)))

    def include(self, ids: Sequence[int]) -> None:
        """Send skipped copies of a picture after all ("Include anyway")."""
        self._run(lambda: self.service.include(list(ids)))

    def remove(self, ids: Sequence[int]) -> None:
        """One job per photo: one that cannot be removed now does not keep the others."""
        for item_id in list(ids):
            self._run(self._remover(item_id))

    def _remover(self, item_id: int) -> Callable[[], list[Any]]:
        return lambda: [self.service.remove(item_id)]

    def move_to_new_batch(self, ids: Sequence[int]) -> None:
        """Failed photos added again as not sent yet, for the note the user picks next."""
        wanted = list(ids)
        self.io_pool.submit(
            lambda: self.service.move_to_new_batch(wanted), self.moved.emit, self.failed.emit
        )

    def cancel(self, ids: Sequence[int]) -> None:
        wanted = list(ids)
        self.io_pool.submit(lambda: self.service.cancel(wanted), None, self.failed.emit)

    def _run(self, fn: Callable[[], list[Any]]) -> None:
        self.io_pool.submit(fn, self.changed.emit, self.failed.emit)
