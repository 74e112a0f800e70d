"""The per-batch choice, beside Upload, to move originals to the trash once verified."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QWidget

from maxupload.gui import names

LABEL = "Move the originals to the trash once they are verified in the EHR"


class OriginalsOption(QWidget):
    """A checkbox that applies to the next batch only: it clears itself once that batch is
    queued, so originals are never moved by a choice made for an earlier patient."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._asked = False
        self.box = QCheckBox(LABEL)
        self.box.setObjectName(names.TRASH_ORIGINALS)
        self.box.setAccessibleName(LABEL)
        self.box.setToolTip(
            "For this batch: once the EHR's copy of a photo is downloaded and matches what was "
            "sent, its original file goes to the system trash (restorable from there). Photos "
            "that are not verified keep their originals. Every move is in the History (Ctrl+H)."
        )
        self.note = QLabel()
        self.note.setObjectName(names.TRASH_ORIGINALS_NOTE)
        self.note.hide()
        self.box.toggled.connect(lambda on: self.note.setVisible(self.note.isVisible() and not on))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addStretch(1)
        layout.addWidget(self.note)
        layout.addWidget(self.box)

    def wanted(self) -> bool:
        """The choice for the batch being handed over now (remembered for ``batch_queued``)."""
        self._asked = self.box.isChecked()
        return self._asked

    def batch_queued(self) -> None:
        """The batch asked for with ``wanted`` is queued: the next one starts unticked."""
        trash, self._asked = self._asked, False
        self.box.setChecked(False)
        self.note.setText(
            "The last batch's originals go to the trash once verified (History: Ctrl+H)."
        )
        self.note.setVisible(trash)
