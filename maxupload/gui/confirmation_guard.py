"""Keeps the banner's confirmation box and the batch rules (``core.checks.confirmation``) in step.

Ticking the box confirms the patient for the photos listed at that moment; the guard ends the
confirmation when the rules say so (batch finished, photos added, idle time, restored queue,
another organization, environment or key) and unticks the box, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QObject, QTimer, Signal, Slot

from maxupload.core.checks.confirmation import (
    DEFAULT_IDLE_SECONDS,
    BatchConfirmation,
    Expiry,
    expiry_text,
)
from maxupload.gui.banner import PatientBanner
from maxupload.gui.photo_model import PhotoModel, PhotoRow

#: Ends that get a notice of their own (the others are explained where they happen).
NOTIFIED = (Expiry.IDLE, Expiry.PHOTOS_ADDED, Expiry.CONNECTION_CHANGED)


class ConfirmationGuard(QObject):
    """The live confirmation of the window and what ends it.

    Signals:
        changed(): a confirmation was given or ended.
        expired(str): a confirmation ended by itself; the text says why and what to do.
    """

    changed = Signal()
    expired = Signal(str)

    def __init__(
        self,
        banner: PatientBanner,
        model: PhotoModel,
        listed: Callable[[str], list[PhotoRow]],
        idle_seconds: Callable[[], int] = lambda: DEFAULT_IDLE_SECONDS,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.rules = BatchConfirmation()
        self._banner = banner
        self._model = model
        self._listed = listed
        self._idle_seconds = idle_seconds
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._check_idle)
        banner.confirmed_changed.connect(self._box_changed)
        model.rowsInserted.connect(self._rows_inserted)

    # --- state ------------------------------------------------------------------------
    @property
    def is_confirmed(self) -> bool:
        """The box is ticked and the rules hold a live confirmation for the note shown."""
        note = self._banner.note
        current = self.rules.current
        return (
            self._banner.is_confirmed
            and note is not None
            and current is not None
            and current.note_id == note.id
        )

    def covers(self, note_id: str, row: PhotoRow) -> bool:
        return self.is_confirmed and self.rules.covers(note_id, row.key)

    def reason_text(self) -> str:
        """Why the last confirmation ended, for the Upload button's hint ("" if none)."""
        reason = self.rules.last_expiry
        return expiry_text(reason, self._idle_seconds()) if reason is not None else ""

    # --- events -----------------------------------------------------------------------
    @Slot(bool)
    def _box_changed(self, confirmed: bool) -> None:
        note = self._banner.note
        if confirmed and note is not None:
            name = note.patient.display_name if note.patient else "Unknown patient"
            rows = self._listed(note.id)
            self.rules.give(note.id, name, [r.key for r in rows], self._idle_seconds())
            self._model.set_confirmed_for(name)
            self._arm_timer()
            self.changed.emit()
            return
        current = self.rules.current
        same = current is not None and note is not None and current.note_id == note.id
        self.end(Expiry.WITHDRAWN if same else Expiry.TARGET_CHANGED)

    def end(self, reason: Expiry) -> None:
        """End the live confirmation (if any) for ``reason`` and untick the box."""
        ended = self.rules.expire(reason)
        self._ended(ended, reason)

    def _ended(self, ended: bool, reason: Expiry) -> None:
        if self._banner.confirm_box.isChecked():
            self._banner.uncheck()
        if not ended:
            return
        self._model.set_confirmed_for("")
        self._timer.stop()
        if reason in NOTIFIED:
            self.expired.emit(expiry_text(reason, self._idle_seconds()))
        self.changed.emit()

    def batch_sent(self, item_ids: list[int]) -> None:
        """The covered photos were handed to the queue (under these item ids)."""
        self.rules.batch_sent(f"q:{i}" for i in item_ids)
        self._timer.stop()

    def batch_not_sent(self) -> None:
        """The batch could not be handed over (nothing queued): it may be tried again."""
        self.rules.batch_not_sent()
        self._arm_timer()

    @Slot(object)
    def batch_finished(self, _counts: Any = None) -> None:
        """The queue went idle: the confirmation whose batch was sent ends."""
        self._ended(self.rules.batch_finished(), Expiry.BATCH_FINISHED)

    @Slot(QModelIndex, int, int)
    def _rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        keys = [
            self._model.row_at(i).key
            for i in range(first, last + 1)
            if self._model.row_at(i).is_staged
        ]
        if keys:
            self._ended(self.rules.photos_added(keys), Expiry.PHOTOS_ADDED)

    def _arm_timer(self) -> None:
        left = self.rules.seconds_left()
        if left is None:
            self._timer.stop()
            return
        self._timer.start(int(left * 1000) + 1)

    @Slot()
    def _check_idle(self) -> None:
        if self.rules.check_idle():
            self._ended(True, Expiry.IDLE)
        else:
            self._arm_timer()
