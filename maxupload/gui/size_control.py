"""The batch's size control: one choice (preset or custom edge and quality) for every photo not
sent yet, kept apart from the single-photo preview so it reads as a batch setting.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from maxupload.gui import names
from maxupload.gui.announce import name_spin_box_text
from maxupload.gui.headings import heading


class BatchSizeBox(QWidget):
    """Lays out the size preset, the custom edge and quality, and the estimate in one row.

    The widgets are made and driven by the preview pane; this box only places them where the
    batch is. Each choice in the list shows its estimated size for the selected photo.

    Signals: none.
    """

    def __init__(
        self,
        preset: QComboBox,
        custom_edge: QSpinBox,
        custom_quality: QSpinBox,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(names.BATCH_SIZE)
        self.preset = preset
        self.custom_edge = custom_edge
        self.custom_quality = custom_quality
        title = heading("Size for photos not sent yet")
        title.setBuddy(preset)
        title.setText("&Size for photos not sent yet")
        preset.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        name_spin_box_text(custom_edge)
        name_spin_box_text(custom_quality)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(title)
        row.addWidget(preset)
        row.addWidget(custom_edge)
        row.addWidget(custom_quality)
        row.addStretch(1)

    def focus_widgets(self) -> list[QWidget]:
        return [self.preset, self.custom_edge, self.custom_quality]
