"""The batch's size control: one choice (preset or custom edge and quality) for every photo not
sent yet, kept apart from the single-photo preview so it reads as a batch setting.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSpinBox,
    QWidget,
)

from maxupload.gui import names
from maxupload.gui.announce import name_spin_box_text
from maxupload.gui.headings import heading


class BatchSizeBox(QWidget):
    """Lays out the size preset, the custom edge and quality, and the estimate in one row.

    The widgets are made and driven by the preview pane (which estimates the selected photo);
    this box only places them where the batch is.

    Signals: none.
    """

    def __init__(
        self,
        preset: QComboBox,
        custom_edge: QSpinBox,
        custom_quality: QSpinBox,
        estimate: QLabel,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(names.BATCH_SIZE)
        self.preset = preset
        self.custom_edge = custom_edge
        self.custom_quality = custom_quality
        self.estimate = estimate
        title = heading("Size for photos not sent yet")
        title.setBuddy(preset)
        title.setText("&Size for photos not sent yet")
        preset.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        estimate.setMinimumHeight(0)
        estimate.setWordWrap(False)
        estimate.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        name_spin_box_text(custom_edge)
        name_spin_box_text(custom_quality)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(8)
        row.addWidget(title)
        row.addWidget(preset)
        row.addWidget(custom_edge)
        row.addWidget(custom_quality)
        row.addWidget(estimate, 1)

    def focus_widgets(self) -> list[QWidget]:
        return [self.preset, self.custom_edge, self.custom_quality]
