"""Paints the photo list: thumbnail and name, status with its accent colour, progress bar."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
)

from maxupload.gui.photo_model import PROGRESS_ROLE, ROW_ROLE, Column, PhotoRow
from maxupload.gui.status_text import ACCENTS, Tone
from maxupload.gui.tone_colors import text_color

Index = QModelIndex | QPersistentModelIndex

ROW_HEIGHT = 64
THUMB = 52


class PhotoDelegate(QStyledItemDelegate):
    """Custom painting for the photo and status columns (with the progress bar); size stays
    plain text.

    Signals: none of its own.
    """

    def sizeHint(self, option: QStyleOptionViewItem, index: Index) -> QSize:
        base = super().sizeHint(option, index)
        return QSize(base.width(), ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        row: PhotoRow | None = index.data(ROW_ROLE)
        col = index.column()
        if row is None or col == Column.SIZE:
            super().paint(painter, option, index)
            return
        self._paint_background(painter, option)
        painter.save()
        try:
            if col == Column.PHOTO:
                self._paint_photo(painter, option, index, row)
            elif col == Column.STATUS:
                self._paint_status(painter, option, index, row)
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
        self, painter: QPainter, option: QStyleOptionViewItem, index: Index, row: PhotoRow
    ) -> None:
        rect = option.rect.adjusted(8, 0, -6, 0)
        side = min(THUMB, rect.height() - 8)  # shorter rows on small screens
        thumb_rect = QRect(rect.left(), rect.center().y() - side // 2 + 1, side, side)
        pix = index.data(Qt.ItemDataRole.DecorationRole)
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
            if row.duplicate_of and not selected:
                color = text_color(Tone.WARNING, option.palette, QPalette.ColorRole.Base)
            else:
                color = self._text_color(option)
            if not row.duplicate_of:
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
        if row.duplicate_of is not None:
            return f"Same picture as {row.duplicate_of.name}"
        if row.error:
            return row.error
        return f"in {row.path.parent.name or row.path.parent}"

    def _paint_status(
        self, painter: QPainter, option: QStyleOptionViewItem, index: Index, row: PhotoRow
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
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or status.label)
        text_rect = QRect(rect.left() + 18, text_top, rect.width() - 18, line_h)
        text = fm.elidedText(text, Qt.TextElideMode.ElideRight, text_rect.width())
        painter.drawText(
            text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text
        )
        if show_bar:
            bar_rect = QRect(rect.left() + 18, text_top + line_h + 6, rect.width() - 18, 6)
            self._paint_progress(painter, option, index, row, bar_rect)

    @staticmethod
    def _paint_progress(
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: Index,
        row: PhotoRow,
        rect: QRect,
    ) -> None:
        """A thin bar in the status accent: bytes sent while uploading, full once stored."""
        fraction: float = index.data(PROGRESS_ROLE) or 0.0
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
