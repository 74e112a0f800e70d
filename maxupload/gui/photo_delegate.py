"""Paints the photo list: thumbnail and name, status with its accent colour, progress bar, and
the header band above the first row of each group (the patient its photos are queued for)."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPixmap
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
        if row is None or col == Column.SIZE:
            super().paint(painter, option, index)
            self._mark_other(painter, option, index, cell.other)
            return
        self._paint_background(painter, option)
        painter.save()
        try:
            if col == Column.PHOTO:
                self._paint_photo(painter, option, cell, row)
            elif col == Column.STATUS:
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
            fill = (
                QColor(ACCENTS[Tone.WARNING])
                if other
                else option.palette.color(QPalette.ColorRole.Mid)
            )
            fill.setAlpha(70 if other else 45)
            painter.fillRect(band, fill)
            painter.fillRect(
                QRect(band.left(), band.bottom(), band.width(), 1),
                option.palette.color(QPalette.ColorRole.Mid),
            )
            # Every column draws the same text from the table's left edge, clipped to its own
            # cell, so the header reads across the whole row and repaints cell by cell.
            view = option.widget
            left, width = band.left(), band.width()
            if isinstance(view, QTableView):
                left = view.columnViewportPosition(0)
                width = view.viewport().width() - left
            font = painter.font()
            font.setWeight(font.Weight.DemiBold)
            painter.setFont(font)
            painter.setPen(option.palette.color(QPalette.ColorRole.Text))
            painter.setClipRect(band)
            text_rect = QRect(left + 10, band.top(), max(10, width - 20), HEADER_HEIGHT)
            shown = painter.fontMetrics().elidedText(
                text, Qt.TextElideMode.ElideRight, text_rect.width()
            )
            painter.drawText(
                text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, shown
            )
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
            veil = option.palette.color(QPalette.ColorRole.Base)
            veil.setAlpha(90)
            painter.fillRect(option.rect, veil)
            if index.column() == Column.PHOTO:
                painter.fillRect(
                    QRect(option.rect.left(), option.rect.top(), 4, option.rect.height()),
                    QColor(ACCENTS[Tone.WARNING]),
                )
        finally:
            painter.restore()

    @staticmethod
    def _paint_background(painter: QPainter, option: QStyleOptionViewItem) -> None:
        style = option.widget.style() if option.widget else QApplication.style()
        opt = QStyleOptionViewItem(option)
        opt.text = ""
        opt.icon = opt.icon.__class__()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, option.widget)

    @staticmethod
    def _text_color(option: QStyleOptionViewItem) -> QColor:
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        return option.palette.color(group)

    def _paint_photo(
        self, painter: QPainter, option: QStyleOptionViewItem, cell: _Cell, row: PhotoRow
    ) -> None:
        rect = option.rect.adjusted(8, 0, -6, 0)
        side = min(THUMB, rect.height() - 8)  # shorter rows on small screens
        thumb_rect = QRect(rect.left(), rect.center().y() - side // 2 + 1, side, side)
        pix = cell.thumbnail()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        if isinstance(pix, QPixmap) and not pix.isNull():
            dpr = pix.devicePixelRatio() or 1.0
            size = QSize(int(pix.width() / dpr), int(pix.height() / dpr))
            size.scale(side, side, Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, size.width(), size.height())
            target.moveCenter(thumb_rect.center())
            painter.drawPixmap(target, pix)
        else:
            placeholder = option.palette.color(QPalette.ColorRole.Mid)
            placeholder.setAlpha(60)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(placeholder)
            painter.drawRoundedRect(thumb_rect, 6, 6)
        text_rect = rect.adjusted(side + 12, 6, 0, -6)
        fm = option.fontMetrics
        painter.setPen(self._text_color(option))
        name = fm.elidedText(row.name, Qt.TextElideMode.ElideMiddle, text_rect.width())
        font = painter.font()
        font.setWeight(font.Weight.DemiBold)
        painter.setFont(font)
        line_h = fm.height()
        top = text_rect.center().y() - line_h
        painter.drawText(
            QRect(text_rect.left(), top, text_rect.width(), line_h),
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
            name,
        )
        font.setWeight(font.Weight.Normal)
        painter.setFont(font)
        second = self._second_line(row)
        if second:
            selected = bool(option.state & QStyle.StateFlag.State_Selected)
            if row.is_skipped_copy and not selected:
                color = text_color(Tone.WARNING, option.palette, QPalette.ColorRole.Base)
            else:
                color = self._text_color(option)
            if not row.is_skipped_copy:
                color.setAlpha(170)
            painter.setPen(color)
            second = fm.elidedText(second, Qt.TextElideMode.ElideRight, text_rect.width())
            painter.drawText(
                QRect(text_rect.left(), top + line_h + 2, text_rect.width(), line_h),
                Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
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
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        accent = QColor(ACCENTS[status.tone])
        dot = QRect(rect.left(), text_top + line_h // 2 - 5, 10, 10)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(accent)
        painter.drawEllipse(dot)
        painter.setPen(self._text_color(option))
        text = cell.status_text() or status.label
        text_rect = QRect(rect.left() + 18, text_top, rect.width() - 18, line_h)
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )
        if show_bar:
            bar_rect = QRect(rect.left() + 18, text_top + line_h + 6, rect.width() - 18, 6)
            self._paint_progress(painter, option, row, bar_rect)

    @staticmethod
    def _paint_progress(
        painter: QPainter, option: QStyleOptionViewItem, row: PhotoRow, rect: QRect
    ) -> None:
        """A thin bar in the status accent: bytes sent while uploading, full once stored."""
        fraction = row.fraction
        track = option.palette.color(QPalette.ColorRole.Mid)
        track.setAlpha(70)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(track)
        painter.drawRoundedRect(rect, 3, 3)
        if fraction > 0:
            done = QRect(
                rect.left(), rect.top(), max(6, int(rect.width() * fraction)), rect.height()
            )
            painter.setBrush(QColor(ACCENTS[row.status.tone]))
            painter.drawRoundedRect(done, 3, 3)
