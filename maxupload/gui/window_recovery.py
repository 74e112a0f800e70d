"""Recovery without dead ends: photos the server refused for their note (signed, gone) are
moved to another note the user picks, where a fresh confirmation of that patient covers them.

Moving adds the photos again as not sent yet (``core.another_note``): they show under "New
photos, not queued yet", the live confirmation ends (photos were added), the photo checks run
against the note picked next, and Upload sends them there once the user confirmed that patient.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Slot

from maxupload.core.outcomes import Action
from maxupload.core.queue.another_note import MOVABLE_STATES, MoveResult
from maxupload.core.snapshots import snapshot
from maxupload.gui.photo_model import PhotoRow
from maxupload.gui.status_text import Tone
from maxupload.gui.window_rows import photos_phrase


def movable_rows(rows: Iterable[PhotoRow]) -> list[PhotoRow]:
    """Rows of photos that failed and stored nothing: they may go to another note."""
    return [
        r for r in rows if r.item_id is not None and r.state in MOVABLE_STATES and not r.image_id
    ]


class WindowRecovery:
    """The actions "Choose another note" and "Send to another note…" on failed photos.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    def refused_rows(self) -> list[PhotoRow]:
        """Failed photos whose note the server refused, of the note the error panel is about."""
        note_id = self.shown_error.note_id
        return [
            r
            for r in movable_rows(self.model.rows())
            if r.outcome is not None
            and r.outcome.action == Action.CHOOSE_NOTE
            and (note_id is None or r.note_id == note_id)
        ]

    def choose_another_note(self) -> None:
        """The error panel's "Choose another note": the refused photos wait for the next note."""
        self.banner.clear_confirmation()
        rows = self.refused_rows()
        if rows:
            self._move(rows)
            return
        self.show_notice("Choose another note for these photos, or remove them.")
        self._focus_notes()

    @Slot()
    def send_to_another_note_selected(self) -> None:
        rows = movable_rows(self.selected_rows())
        if not rows:
            self.show_notice(
                "'Send to another note' is for photos that failed and stored nothing. Select "
                "one of those first."
            )
            return
        self.banner.clear_confirmation()
        self._move(rows)

    def _move(self, rows: list[PhotoRow]) -> None:
        self.uploads.move_to_new_batch([r.item_id for r in rows if r.item_id is not None])

    @Slot(object)
    def _moved(self, result: MoveResult) -> None:
        """Show the photos as new ones (first, so a pasted image's file stays), then take the
        failed rows off the list."""
        self._apply_items([snapshot(item) for item in result.staged])
        for old_id in result.replaced:
            self._removed.add(old_id)
            i = self.model.find_item(old_id)
            if i is not None:
                self.model.remove_row_indexes([i])
        unread = [item.id for item in result.staged if not item.facts_read]
        if unread:
            self.uploads.read_facts(unread)
        moved = len(result.staged)
        parts = []
        if moved:
            parts.append(
                f"{photos_phrase(moved, 'waits', 'wait')} for another note: pick the note on "
                "the left, check the banner and confirm the patient, then Upload."
            )
        if result.kept:
            parts.append(
                f"{photos_phrase(len(result.kept), 'stays', 'stay')} with its note: it may "
                "already be stored there or is on its way."
            )
        self.show_notice(" ".join(parts), Tone.WARNING if result.kept else Tone.BUSY)
        new_ids = set(result.replaced.values())
        for i, row in enumerate(self.model.rows()):
            if row.item_id in new_ids:
                self.select_row(i)
                break
        self._check_staged()
        self._refresh_state()
        if moved:
            self._focus_notes()

    def _focus_notes(self) -> None:
        """Keyboard focus where the next step is: the patient's notes, else the search."""
        notes = self.target.notes
        (notes if notes.count() else self.target.search).setFocus()
