"""Paints the photo list: thumbnail and name, status with its accent colour, progress bar, and
the header band above the first row of each group (the patient its photos are queued for)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
)

from maxupload.gui.photo_model import (
    HEADER_ROLE,
    OTHER_ROLE,
    ROW_ROLE,
    Column,
    PhotoModel,
    PhotoRow,
)
from maxupload.gui.status_text import ACCENTS, Tone
from maxupload.gui.tone_colors import text_color

Index = QModelIndex | QPersistentModelIndex

ROW_HEIGHT = 64
HEADER_HEIGHT = 30  # the group header band above a group's first row
THUMB = 52
#: Space kept free at the right end of the photo column's text.
TEXT_END_PADDING = 6

# Qt's enum values, looked up once: PySide6's Python enums make every attribute lookup and
# every ``|`` a Python call, and a screen of rows paints about 20 cells each time it changes.
_LEFT_VCENTER = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_ELIDE_RIGHT = Qt.TextElideMode.ElideRight
_ELIDE_MIDDLE = Qt.TextElideMode.ElideMiddle
_NO_PEN = Qt.PenStyle.NoPen
_SELECTED = QStyle.StateFlag.State_Selected
_ITEM = QStyle.ControlElement.CE_ItemViewItem
_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay
_TEXT = QPalette.ColorRole.Text
_HIGHLIGHTED_TEXT = QPalette.ColorRole.HighlightedText
_MID = QPalette.ColorRole.Mid
_BASE = QPalette.ColorRole.Base
_SMOOTH = QPainter.RenderHint.SmoothPixmapTransform
_ANTIALIASING = QPainter.RenderHint.Antialiasing
_DEMIBOLD = QFont.Weight.DemiBold
_NORMAL = QFont.Weight.Normal
_PHOTO = int(Column.PHOTO)
_STATUS = int(Column.STATUS)
_SIZE = int(Column.SIZE)


class _Cell:
    """What one cell shows, read from the ``PhotoModel`` in Python: through ``index.data`` each
    value was a round trip into Qt and back into the model, about a dozen per painted row."""

    __slots__ = ("_index", "_model", "header", "other", "row")

    def __init__(self, index: Index) -> None:
        self._index = index
        model = index.model()
        self._model = model if isinstance(model, PhotoModel) else None
        i = index.row()
        if self._model is not None:
            inside = 0 <= i < self._model.rowCount()
            self.row: PhotoRow | None = self._model.row_at(i) if inside else None
            self.header = self._model.header_text(i) if inside else ""
            self.other = self._model.is_other(self.row) if self.row is not None else False
        else:  # another model (a proxy): its roles
            self.row = index.data(ROW_ROLE)
            self.header = str(index.data(HEADER_ROLE) or "")
            self.other = bool(index.data(OTHER_ROLE))

    def thumbnail(self) -> object:
        if self._model is not None and self.row is not None:
            return self._model.thumbnail_for(self.row.path)
        return self._index.data(Qt.ItemDataRole.DecorationRole)

    def status_text(self) -> str:
        if self._model is not None and self.row is not None:
            return self._model.display_text(self.row, Column.STATUS)
        return str(self._index.data(Qt.ItemDataRole.DisplayRole) or "")

    def size_text(self) -> str:
        if self._model is not None and self.row is not None:
            return self._model.size_text(self.row)
        return str(self._index.data(Qt.ItemDataRole.DisplayRole) or "")


class PhotoDelegate(QStyledItemDelegate):
    """Custom painting for the photo and status columns (with the progress bar); size stays
    plain text.

    Signals: none of its own.
    """

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        header = HEADER_HEIGHT if index.data(HEADER_ROLE) else 0
        return QSize(base.width(), ROW_HEIGHT + header)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        cell = _Cell(index)
        if cell.header:
            self._paint_header(painter, option, cell.header, cell.other)
            option = QStyleOptionViewItem(option)
            option.rect = option.rect.adjusted(0, HEADER_HEIGHT, 0, 0)
        row = cell.row
        col = index.column()
        if row is None:
            super().paint(painter, option, index)
            self._mark_other(painter, option, index, cell.other)
            return
        if col == _SIZE:
            self._paint_background(painter, option, cell.size_text())
            self._mark_other(painter, option, index, cell.other)
            return
        self._paint_background(painter, option)
        painter.save()
        try:
            if col == _PHOTO:
                self._paint_photo(painter, option, cell, row)
            elif col == _STATUS:
                self._paint_status(painter, option, cell, row)
        finally:
            painter.restore()
        self._mark_other(painter, option, index, cell.other)

    @staticmethod
    def _paint_header(
        painter: QPainter, option: QStyleOptionViewItem, text: str, other: bool
    ) -> None:
        """The group's band across the row's top: who its photos are queued for. Bands of
        another note than the banner's are in the warning colour."""
        band = QRect(option.rect.left(), option.rect.top(), option.rect.width(), HEADER_HEIGHT)
        painter.save()
        try:
            fill = QColor(ACCENTS[Tone.WARNING]) if other else option.palette.color(_MID)
            fill.setAlpha(70 if other else 45)
            painter.fillRect(band, fill)
            painter.fillRect(
                QRect(band.left(), band.bottom(), band.width(), 1),
                option.palette.color(_MID),
            )
            # Every column draws the same text from the table's left edge, clipped to its own
            # cell, so the header reads across the whole row and repaints cell by cell.
            view = option.widget
            left, width = band.left(), band.width()
            if isinstance(view, QTableView):
                left = view.columnViewportPosition(0)
                width = view.viewport().width() - left
            font = painter.font()
            font.setWeight(_DEMIBOLD)
            painter.setFont(font)
            painter.setPen(option.palette.color(_TEXT))
            painter.setClipRect(band)
            text_rect = QRect(left + 10, band.top(), max(10, width - 20), HEADER_HEIGHT)
            shown = painter.fontMetrics().elidedText(text, _ELIDE_RIGHT, text_rect.width())
            painter.drawText(text_rect, _LEFT_VCENTER, shown)
        finally:
            painter.restore()

    @staticmethod
    def _mark_other(
        painter: QPainter, option: QStyleOptionViewItem, index: Index, other: bool
    ) -> None:
        """Rows queued for another note: a warning stripe on the left and a veil over them."""
        if not other:
            return
        painter.save()
        try:
            veil = option.palette.color(_BASE)
            veil.setAlpha(90)
            painter.fillRect(option.rect, veil)
            if index.column() == _PHOTO:
                painter.fillRect(
                    QRect(option.rect.left(), option.rect.top(), 4, option.rect.height()),
                    QColor(ACCENTS[Tone.WARNING]),
                )
        finally:
            painter.restore()

    @staticmethod
    def _paint_background(painter: QPainter, option: QStyleOptionViewItem, text: str = "") -> None:
        """The cell as the style draws an item (selection, alternate rows), with ``text`` as
        a plain item shows it. The view's option carries no text or icon of its own (Qt's
        delegate adds them from the model), so it is drawn as it comes when there is no text."""
        widget = option.widget
        style = widget.style() if widget else QApplication.style()
        if text:
            option = QStyleOptionViewItem(option)
            option.text = text
            option.features |= _HAS_DISPLAY
        style.drawControl(_ITEM, option, painter, widget)

    @staticmethod
    def _text_color(option: QStyleOptionViewItem) -> QColor:
        selected = bool(option.state & _SELECTED)
        return option.palette.color(_HIGHLIGHTED_TEXT if selected else _TEXT)

    def _paint_photo(
        self, painter: QPainter, option: QStyleOptionViewItem, cell: _Cell, row: PhotoRow
    ) -> None:
        rect = option.rect.adjusted(8, 0, -TEXT_END_PADDING, 0)
        side = min(THUMB, rect.height() - 8)  # shorter rows on small screens
        thumb_rect = QRect(rect.left(), rect.center().y() - side // 2 + 1, side, side)
        pix = cell.thumbnail()
        painter.setRenderHint(_SMOOTH, True)
        if isinstance(pix, QPixmap) and not pix.isNull():
            dpr = pix.devicePixelRatio() or 1.0
            size = QSize(int(pix.width() / dpr), int(pix.height() / dpr))
            size.scale(side, side, Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pix)
        else:
            placeholder = option.palette.color(_MID)
            placeholder.setAlpha(60)
            painter.setPen(_NO_PEN)
            painter.setBrush(placeholder)
            painter.drawRoundedRect(thumb_rect, 6, 6)
        text_rect = rect.adjusted(side + 12, 6, 0, -6)
        fm = option.fontMetrics
        painter.setPen(self._text_color(option))
        font = painter.font()
        font.setWeight(_DEMIBOLD)
        painter.setFont(font)
        # Shortened by the bold font's own widths: the plain font's left its end cut off.
        name = painter.fontMetrics().elidedText(row.name, _ELIDE_MIDDLE, text_rect.width())
        line_h = fm.height()
        top = text_rect.center().y() - line_h
        painter.drawText(
            QRect(text_rect.left(), top, text_rect.width(), line_h), _LEFT_VCENTER, name
        )
        font.setWeight(_NORMAL)
        painter.setFont(font)
        second = self._second_line(row)
        if second:
            selected = bool(option.state & _SELECTED)
            if row.is_skipped_copy and not selected:
                color = text_color(Tone.WARNING, option.palette, _BASE)
            else:
                color = self._text_color(option)
            if not row.is_skipped_copy:
                color.setAlpha(170)
            painter.setPen(color)
            second = fm.elidedText(second, _ELIDE_RIGHT, text_rect.width())
            painter.drawText(
                QRect(text_rect.left(), top + line_h + 2, text_rect.width(), line_h),
                _LEFT_VCENTER,
                second,
            )

    @staticmethod
    def _second_line(row: PhotoRow) -> str:
        if row.error:  # a skipped copy: "Same picture as …" (in full in the tooltip)
            return row.error
        folder = f"in {row.path.parent.name or row.path.parent}"
        return f"For {row.patient}  ·  {folder}" if row.patient else folder

    def _paint_status(
        self, painter: QPainter, option: QStyleOptionViewItem, cell: _Cell, row: PhotoRow
    ) -> None:
        status = row.status
        rect = option.rect.adjusted(8, 0, -8, 0)
        show_bar = not row.is_staged
        fm = option.fontMetrics
        line_h = fm.height()
        text_top = rect.center().y() - (line_h if show_bar else line_h // 2)
        painter.setRenderHint(_ANTIALIASING, True)
        accent = QColor(ACCENTS[status.tone])
        dot = QRect(rect.left(), text_top + line_h // 2 - 5, 10, 10)
        painter.setPen(_NO_PEN)
        painter.setBrush(accent)
        painter.drawEllipse(dot)
        painter.setPen(self._text_color(option))
        text = cell.status_text() or status.label
        text_rect = QRect(rect.left() + 18, text_top, rect.width() - 18, line_h)
        text = fm.elidedText(text, _ELIDE_RIGHT, text_rect.width())
        painter.drawText(text_rect, _LEFT_VCENTER, text)
        if show_bar:
            bar_rect = QRect(rect.left() + 18, text_top + line_h + 6, rect.width() - 18, 6)
            self._paint_progress(painter, option, row, bar_rect)

    @staticmethod
    def _paint_progress(
        painter: QPainter, option: QStyleOptionViewItem, row: PhotoRow, rect: QRect
    ) -> None:
        """A thin bar in the status accent: bytes sent while uploading, full once stored."""
        fraction = row.fraction
        track = option.palette.color(_MID)
        track.setAlpha(70)
        painter.setPen(_NO_PEN)
        painter.setBrush(track)
        painter.drawRoundedRect(rect, 3, 3)
        if fraction > 0:
            done = QRect(
                rect.left(), rect.top(), max(6, int(rect.width() * fraction)), rect.height()
            )
            painter.setBrush(QColor(ACCENTS[row.status.tone]))
            painter.drawRoundedRect(done, 3, 3)
