"""Gives the first row of each group in the photo table room for its header band.

The table's rows have one fixed height; a row that starts a group (photos not queued yet, or
queued for one note) is made taller so the delegate can paint who the group is queued for.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Slot
from PySide6.QtWidgets import QTableView

from maxupload.gui.photo_delegate import HEADER_HEIGHT
from maxupload.gui.photo_model import PhotoModel


class GroupHeights(QObject):
    """Keeps header rows taller than the rest, after any change of the grouping.

    Signals: none of its own.
    """

    def __init__(self, table: QTableView, model: PhotoModel) -> None:
        super().__init__(table)
        self._table = table
        self._model = model
        self._tall: set[int] = set()
        # Several changes in one event-loop pass are applied once, after them.
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.apply)
        model.groups_changed.connect(self._later.start)
        model.modelReset.connect(self._later.start)

    @Slot()
    def apply(self) -> None:
        """Size every row: taller where a group starts."""
        header = self._table.verticalHeader()
        row = header.defaultSectionSize()  # the layout's row height (shorter on small screens)
        count = self._model.rowCount()
        tall = {i for i in range(count) if self._model.header_text(i)}
        for i in range(count):
            header.resizeSection(i, row + HEADER_HEIGHT if i in tall else row)
        self._tall = tall
