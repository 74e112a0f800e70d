"""The list of files MaxUpload would not use: which file, why, and what to do next."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from maxupload.gui import names
from maxupload.gui.status_text import Tone
from maxupload.gui.tone_colors import set_tone_text


class RejectionsPanel(QFrame):
    """Shown as soon as a drop has files that were not accepted; hidden when cleared.

    Signals: none.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(names.REJECTIONS_PANEL)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.title = QLabel()
        font = self.title.font()
        font.setWeight(font.Weight.DemiBold)
        self.title.setFont(font)
        set_tone_text(self.title, Tone.WARNING)
        self.list = QListWidget()
        self.list.setObjectName(names.REJECTIONS_LIST)
        self.list.setAccessibleName("Files not added, with reasons")
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        clear = QPushButton("Dismiss")
        clear.setObjectName(names.REJECTIONS_CLEAR)
        clear.setAccessibleName("Dismiss the list of files not added")
        clear.clicked.connect(self.clear)
        self.clear_button = clear
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(head)
        layout.addWidget(self.list)
        self._max_items = 2
        self.hide()

    def set_compact(self, compact: bool) -> None:
        """Keep room for one file instead of two (small screens); the list scrolls."""
        self._max_items = 1 if compact else 2
        self._fit_list()

    def _fit_list(self) -> None:
        n = self.list.count()
        line = self.list.fontMetrics().height()
        self.list.setFixedHeight(max(1, min(self._max_items, n)) * (3 * line + 4) + 8)

    def add(self, file_name: str, reason: str, next_step: str, tooltip: str = "") -> None:
        item = QListWidgetItem(f"{file_name}: {reason} {next_step}".strip())
        item.setToolTip(tooltip or file_name)
        item.setData(Qt.ItemDataRole.UserRole, (file_name, reason, next_step))
        self.list.addItem(item)
        n = self.list.count()
        self.title.setText(f"{n} file{'s' if n != 1 else ''} not added")
        self._fit_list()
        self.show()

    def entries(self) -> list[tuple[str, str, str]]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def clear(self) -> None:
        self.list.clear()
        self.hide()
