"""``maxupload queue resume`` for photos an interrupted ``maxupload upload`` left waiting for
their photo checks: each note is read again, the photos are checked as ``upload`` checks them,
then sent or stopped with the same messages. Printing and wiring only: the rule lives in
``maxupload.core.batch_checks``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from maxupload.commands.upload_output import Printer, error, plural
from maxupload.core.api.models import Note, Target
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore

if TYPE_CHECKING:
    from maxupload.core.engine.scheduler import UploadEngine


@dataclass
class ResumeChecks:
    """Finishes the photos of ``ids`` waiting for their checks once the engine runs (``run``
    is ``run_queue``'s ``before_start``); ``not_sent`` counts those stopped or left waiting."""

    store: QueueStore
    ids: list[int]
    printer: Printer
    key_for: Callable[[Target], str]
    not_sent: int = 0
    stopped: list[int] = field(default_factory=list)

    def run(self, engine: UploadEngine) -> list[int]:
        from maxupload.commands.upload import make_client
        from maxupload.commands.upload_report import print_checked
        from maxupload.core.batch_checks import finish_checks
        from maxupload.core.checks.copy_facts import facts_from_copies
        from maxupload.core.uploads import UploadService

        if not self.store.items(ids=self.ids, states=[ItemState.CHECKING], include_hidden=True):
            return []

        def open_note(target: Target) -> Note:
            key = self.key_for(target)
            with make_client(target.base_url, key, target.org_id, engine.gate) as client:
                return client.get_note(target.note_id)

        service = UploadService(self.store, engine, history=engine.history)
        done = finish_checks(
            service,
            open_note,
            ids=self.ids,
            read_for=lambda preset: facts_from_copies(engine.copies, preset),
            hide_stopped=True,
        )
        for result in done.results:
            stopped = print_checked(result, self.store, engine.copies, self.printer)
            self.printer.printed.update(stopped)  # said once, with the checks' reason
            self.not_sent += len(stopped)
        for snap in done.refused:
            self.printer.item(snap.item, force=True)
            self.not_sent += 1
        for target, count, exc in done.unread:
            error(
                f"{plural(count, 'photo')} for note {target.note_id} still wait for their photo "
                f"checks: the note cannot be read ({str(exc).rstrip('.')}).",
                f"{exc.next_step} Then run 'maxupload queue resume'.",
            )
            self.not_sent += count
        return done.run
