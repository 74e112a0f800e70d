"""Which photo and which note the error panel speaks about, so it never outlives its reason.

The panel under the photo list shows one error at a time. It is cleared as soon as what it
says no longer holds: the photo it names was sent after all (a retry succeeded) or left the
list, or the banner now shows another note, so another patient's error never stays up under
the new patient's banner. Errors about no photo and no note (a failed search) stay until the
user dismisses them or another error replaces them.
"""

from __future__ import annotations

from collections.abc import Iterable

from maxupload.core.outcomes import Outcome
from maxupload.core.queue.model import ItemState
from maxupload.gui.photo_model import PhotoRow
from maxupload.gui.status_panel import StatusPanel

#: Photos that wait for the user (their error is shown in the status panel).
NEEDS_USER = frozenset({ItemState.FAILED, ItemState.NEEDS_DECISION})


def row_needs_user(row: PhotoRow) -> bool:
    """True while a row has something to tell the user: an error, a decision, a check's stop."""
    return bool(row.error or row.state in NEEDS_USER or row.check_stop)


class ShownError:
    """Shows errors in the status panel and remembers whose they are."""

    def __init__(self, panel: StatusPanel) -> None:
        self.panel = panel
        self.item_id: int | None = None  # the photo the panel names, if any
        self.note_id: str | None = None  # the note the panel's error is about, if any

    def show(self, outcome: Outcome, note_id: str | None = None) -> None:
        """An error about no photo in particular (``note_id``: the note it concerns)."""
        self.item_id, self.note_id = None, note_id
        self.panel.show_error(outcome)

    def show_row(self, row: PhotoRow, banner_note_id: str | None) -> None:
        """A photo's error; a photo not queued yet belongs to the note on the banner."""
        if row.outcome is None:
            return
        self.item_id = row.item_id
        self.note_id = row.note_id or banner_note_id
        self.panel.show_error(row.outcome, row.name)

    def clear(self) -> None:
        self.item_id = self.note_id = None
        self.panel.show_error(None)

    def row_changed(self, row: PhotoRow) -> None:
        """A photo's new state: its error goes once it needs the user no more."""
        if self.item_id is not None and row.item_id == self.item_id and not row_needs_user(row):
            self.clear()

    def prune(self, listed: Iterable[PhotoRow]) -> None:
        """Rows left the list: the error of a photo no longer listed goes with it."""
        if self.item_id is not None and all(r.item_id != self.item_id for r in listed):
            self.clear()

    def note_changed(self, note_id: str | None) -> None:
        """The banner shows another note (or none): errors about another note go."""
        if self.note_id is not None and self.note_id != note_id:
            self.clear()
