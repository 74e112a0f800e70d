"""The photo list's rows: selection, the row actions (remove, retry, cancel, send again) and
the engine's snapshots shown on each row."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, Slot
from PySide6.QtWidgets import (
    QMessageBox,
)

from maxupload.core.queue.model import ItemState
from maxupload.core.uploads import PhotoSnapshot
from maxupload.gui.note_refresh import refused_now
from maxupload.gui.photo_model import PhotoRow, row_from_item
from maxupload.gui.shown_error import NEEDS_USER, row_needs_user

log = logging.getLogger(__name__)


#: Photos the user may send again with "Retry" (nothing of them is stored).
RETRYABLE = frozenset({ItemState.FAILED, ItemState.CANCELLED, ItemState.RETRY_LATER})


def photos_phrase(count: int, verb_one: str, verb_many: str) -> str:
    """``1 photo is`` / ``3 photos are``: counts in notices read as plain English."""
    return f"1 photo {verb_one}" if count == 1 else f"{count} photos {verb_many}"


class WindowRows:
    """Selection, row actions and the engine's snapshots on the rows.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    # ------------------------------------------------------------------ selection
    def selected_indexes(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def selected_rows(self) -> list[PhotoRow]:
        return [self.model.row_at(i) for i in self.selected_indexes()]

    @Slot()
    def _selection_changed(self) -> None:
        rows = self.selected_rows()
        self.preview.show_row(rows[0] if len(rows) == 1 else (rows[0] if rows else None))
        if rows and row_needs_user(rows[0]):
            self._show_row_error(rows[0])
        elif rows and self.shown_error.item_id not in (None, rows[0].item_id):
            self.shown_error.clear()  # another photo's error does not stay beside this one
        self._refresh_state()

    @Slot()
    def _preview_current(self) -> None:
        idx = self.table.currentIndex()
        if idx.isValid():
            self.preview.show_row(self.model.row_at(idx.row()))

    def select_row(self, i: int) -> None:
        self.table.selectionModel().select(
            self.model.index(i, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(self.model.index(i, 0))

    # ------------------------------------------------------------------ row actions
    @Slot()
    def remove_selected(self) -> None:
        indexes = self.selected_indexes()
        rows = [self.model.row_at(i) for i in indexes]
        busy = [r for r in rows if r.state in (ItemState.UPLOADING, ItemState.PREPARING)]
        ids = [r.item_id for r in rows if r.item_id is not None and r not in busy]
        self._removed.update(r.item_id for r in rows if r.is_staged and r.item_id is not None)
        self.uploads.remove(ids)
        # Photos not sent yet leave the list at once; the queue forgets them on the pool.
        for row in self.model.remove_row_indexes(
            [i for i in indexes if self.model.row_at(i).is_staged]
        ):
            self._drop_pasted(row.path)
        if busy:
            self.show_notice(
                f"{photos_phrase(len(busy), 'is', 'are')} being sent right now and not removed; "
                "remove when sending has finished."
            )
        if not self.model.rowCount():
            self.preview.show_row(None)

    def _apply_items(self, items: list[Any]) -> None:
        with self.model.changing_many():
            for item in items:
                self._apply_item(item)

    @Slot()
    def retry_selected(self) -> None:
        rows = [r for r in self.selected_rows() if r.item_id is not None and r.state in RETRYABLE]
        if not rows:
            self.show_notice("Select photos that failed or were cancelled to retry them.")
            return
        ids = [r.item_id for r in rows if r.item_id is not None]
        self._started.update(ids)
        self.uploads.retry(ids)

    @Slot()
    def cancel_selected(self) -> None:
        """Stop photos that are on their way (one already sent then waits for a decision)."""
        rows = [r for r in self.selected_rows() if r.item_id is not None and r.is_active]
        ids = [r.item_id for r in rows if r.item_id is not None]
        if not ids:
            self.show_notice("Select photos that are waiting or being sent to cancel them.")
            return
        self.uploads.cancel(ids)

    @Slot()
    def send_again_selected(self) -> None:
        rows = [
            r
            for r in self.selected_rows()
            if r.item_id is not None and r.state == ItemState.NEEDS_DECISION
        ]
        if not rows:
            self.show_notice(
                "'Send again' is for photos that may already be stored (EHR push failed, no "
                "answer, or a duplicate). Select one of those first."
            )
            return
        names_list = "\n".join(f"• {r.name}: {r.error or r.status.label}" for r in rows[:8])
        more = f"\n…and {len(rows) - 8} more" if len(rows) > 8 else ""
        ids = [r.item_id for r in rows if r.item_id is not None]
        self.ask(
            QMessageBox.Icon.Warning,
            "Send again? A copy may already be on the note",
            f"Max AI may already hold {'these photos' if len(rows) > 1 else 'this photo'}. "
            "Sending again can put a second copy on the patient's note.\n\n"
            f"{names_list}{more}\n\n"
            "Open the note in the EHR first. Send again only if the photo is not there.",
            "sendAgainQuestion",
            ("Send again", QMessageBox.ButtonRole.DestructiveRole),
            "Don't send",
            lambda: self._send_again(ids),
        )

    def _send_again(self, ids: list[int]) -> None:
        self._started.update(ids)
        self.uploads.send_again(ids)

    def ask(
        self,
        icon: QMessageBox.Icon,
        title: str,
        text: str,
        name: str,
        act: tuple[str, QMessageBox.ButtonRole],
        keep: str,
        on_act: Callable[[], None],
    ) -> None:
        """A window-modal question: ``act`` runs ``on_act``; ``keep``, the default, does nothing."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, self)
        box.setObjectName(name)
        act_button = box.addButton(*act)
        box.setDefaultButton(box.addButton(keep, QMessageBox.ButtonRole.RejectRole))

        def answered(_result: int) -> None:
            if box.clickedButton() is act_button:
                on_act()

        box.finished.connect(answered)
        self._ask(box)

    def _ask(self, box: QMessageBox) -> None:
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self._question = box
        box.open()
        self.question_shown.emit(box)

    @property
    def question(self) -> QMessageBox | None:
        """The question waiting for the user, if any (tests click its buttons)."""
        return self._question if self._question is not None and self._question.isVisible() else None

    # ------------------------------------------------------------------ engine events
    @Slot(object)
    def _item_changed(self, item: Any) -> None:
        self._apply_item(item)

    def _apply_item(self, snap: Any) -> None:
        """Show a photo's snapshot (``PhotoSnapshot`` or queue item); older ones are ignored."""
        if self._closed or snap is None:
            return
        item = snap.item if isinstance(snap, PhotoSnapshot) else snap
        i = self.model.find_item(int(item.id))
        old: PhotoRow | None = None
        if item.hidden or item.id in self._removed:
            if i is not None:
                self.model.remove_row_indexes([i])
            self._drop_pasted(Path(item.source_path))
            return
        if i is None:
            self.model.add_rows([row_from_item(snap)])
            i = self.model.find_item(int(item.id))
            if i is None:
                return
        else:
            old = self.model.row_at(i)
            if old.revision > int(item.revision):
                return
            self.model.replace_row(i, row_from_item(snap, old))
        row = self.model.row_at(i)
        if row.state == ItemState.VERIFIED:
            self._drop_pasted(row.path)
        self.shown_error.row_changed(row)  # a photo sent after all takes its error along
        if refused_now(row, old):
            self.note_refresh.refused(row.note_id or "")  # the banner shows the real status
        if row.state in NEEDS_USER and row.error:
            self._latest_error_item = row.item_id
            # A new error pops up once; a later snapshot of the same error (a retry timer, the
            # end of the batch) does not bring back a panel the user dismissed or that cleared.
            new_error = old is None or (old.state, old.error) != (row.state, row.error)
            if new_error and self._error_belongs_on_screen(row):
                self._show_row_error(row)
        current = self.preview.current_row()
        if current is not None and current.item_id == row.item_id:
            self.preview.show_row(row)

    def _drop_pasted(self, path: Path) -> None:
        """Delete a pasted image's private PNG once no photo in the list still needs it (its
        upload is verified, or it was removed): the cache keeps no clinical photos it no longer
        needs."""
        if path.parent != self._pasted_dir:
            return
        if any(r.path == path and r.state != ItemState.VERIFIED for r in self.model.rows()):
            return
        self.deps.io_pool.submit(
            lambda: path.unlink(missing_ok=True),
            None,
            lambda exc: log.warning("Could not delete a pasted image: %s", exc),
        )

    def _show_row_error(self, row: PhotoRow) -> None:
        note = self.banner.note
        self.shown_error.show_row(row, note.id if note else None)

    def _error_belongs_on_screen(self, row: PhotoRow) -> bool:
        """A photo's new error pops up only under its own patient's banner (or an empty one);
        under another patient's banner the row shows it, and the batch notification says so."""
        note = self.banner.note
        if not row.note_id:
            return True
        if note is None:
            return self.banner.patient is None
        return note.id == row.note_id

    @Slot(object)
    def _progress(self, progress: dict[int, tuple[int, int]]) -> None:
        self.model.set_progress(progress)
