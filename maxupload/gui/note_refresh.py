"""Reading a note again after the server refused a photo for it (404 gone, 409 signed).

The banner showed the note as the user picked it, maybe minutes ago. Once an upload answers
that the note is signed or gone, the banner must not keep saying "awaiting sign": the note is
read again, the banner and the note list show its real status, and the Upload button refuses
with the reason. A note that is gone is marked so on the banner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QListWidgetItem

from maxupload.core.api.errors import NotFound
from maxupload.core.api.models import Note
from maxupload.core.outcomes import Action
from maxupload.core.queue.model import ItemState
from maxupload.gui.banner import PatientBanner
from maxupload.gui.photo_model import PhotoRow
from maxupload.gui.target_panel import DATA_ROLE, TargetPanel, note_line
from maxupload.gui.tasks import TaskPool


def refused_now(row: PhotoRow, before: PhotoRow | None) -> bool:
    """True when ``row`` just failed because the server refused its note (signed or gone)."""
    outcome = row.outcome
    return (
        row.state == ItemState.FAILED
        and (before is None or before.state != ItemState.FAILED)
        and outcome is not None
        and outcome.action == Action.CHOOSE_NOTE
        and bool(row.note_id)
    )


class NoteRefresher(QObject):
    """Reads refused notes again and shows what the server says now.

    Signals:
        refreshed(str): the note id whose status the banner now shows as the server has it.
    """

    refreshed = Signal(str)

    def __init__(
        self,
        banner: PatientBanner,
        target: TargetPanel,
        pool: TaskPool,
        client: Callable[[], Any],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._banner = banner
        self._target = target
        self._pool = pool
        self._client = client
        self._reading: set[str] = set()

    def refused(self, note_id: str) -> None:
        """The server refused a photo for ``note_id``: read it again (once at a time)."""
        if not note_id or note_id in self._reading:
            return
        self._reading.add(note_id)
        client = self._client
        self._pool.submit(
            lambda: client().get_note(note_id),
            self._read,
            lambda exc: self._failed(note_id, exc),
        )

    def _read(self, note: Note) -> None:
        self._reading.discard(note.id)
        self._update_list(note)
        shown = self._banner.note
        if shown is not None and shown.id == note.id:
            self._target.set_note(note)  # the banner, providers and Upload follow the note
        self.refreshed.emit(note.id)

    def _failed(self, note_id: str, exc: BaseException) -> None:
        self._reading.discard(note_id)
        shown = self._banner.note
        if isinstance(exc, NotFound):
            self._mark_gone_in_list(note_id)
            if shown is not None and shown.id == note_id:
                self._banner.mark_gone()
        self.refreshed.emit(note_id)

    def _update_list(self, note: Note) -> None:
        """The note's line in the patient's note list shows its new status too."""
        item = self._list_item(note.id)
        if item is not None:
            item.setData(DATA_ROLE, note)
            item.setText(note_line(note))

    def _mark_gone_in_list(self, note_id: str) -> None:
        """A note the server no longer has says so in the list (its line is kept, so the
        user sees what happened to the visit they picked)."""
        item = self._list_item(note_id)
        if item is not None:
            item.setText(note_line(replace(item.data(DATA_ROLE), status="not_found")))

    def _list_item(self, note_id: str) -> QListWidgetItem | None:
        notes = self._target.notes
        for i in range(notes.count()):
            item = notes.item(i)
            known = item.data(DATA_ROLE)
            if known is not None and known.id == note_id:
                return item
        return None
