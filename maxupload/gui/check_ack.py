"""The per-batch acknowledgement of photos the checks hold ("Send photos from another day").

Shown only while held photos are in the list; unticked again whenever a batch is submitted, so
an acknowledgement never carries over to the next batch."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QCheckBox, QFrame, QLabel, QVBoxLayout, QWidget

from maxupload.core.checks.photo import CheckCode
from maxupload.gui.status_text import ACCENTS, Tone

ACK_OBJECT = "otherDayAck"


class HeldPhotosAck(QFrame):
    """A tick box that acknowledges held photos for this batch.

    Signals:
        changed(bool): the box was ticked or unticked.
    """

    changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(ACK_OBJECT)
        color = ACCENTS[Tone.WARNING]
        self.setStyleSheet(
            f"#{ACK_OBJECT} {{ border: 1px solid {color}; border-left: 6px solid {color}; "
            "border-radius: 6px; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.box = QCheckBox("Send photos from another day")
        self.box.setAccessibleName("Send photos from another day with this batch")
        self.box.toggled.connect(self._toggled)
        layout.addWidget(self.text)
        layout.addWidget(self.box)
        self.hide()

    def set_held(self, count: int) -> None:
        """Show the box while ``count`` photos are held (hide and untick it at 0)."""
        if count <= 0:
            self.reset()
            self.hide()
            return
        if count == 1:
            text = "1 photo was taken on another day than this visit and is held back. Check it; "
            text += "tick the box to send it with this batch."
        else:
            text = f"{count} photos were taken on another day than this visit and are held back. "
            text += "Check them; tick the box to send them with this batch."
        self.text.setText(text)
        self.show()

    def reset(self) -> None:
        """Untick (a new batch needs a new acknowledgement)."""
        if self.box.isChecked():
            self.box.setChecked(False)

    def acknowledged(self) -> frozenset[CheckCode]:
        """The check codes the user acknowledged for this batch."""
        if self.isVisible() and self.box.isChecked():
            return frozenset({CheckCode.OTHER_DAY})
        return frozenset()

    @Slot(bool)
    def _toggled(self, checked: bool) -> None:
        self.changed.emit(checked)
