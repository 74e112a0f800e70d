"""A widget that shows one image scaled to fit, or a quiet placeholder text."""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPalette, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget


class ImageView(QWidget):
    """Paints a pixmap kept at its aspect ratio; shows ``placeholder`` when there is none.

    Signals: none.
    """

    def __init__(self, placeholder: str, caption: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._placeholder = placeholder
        self._caption = caption
        self.setMinimumSize(160, 100)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(320, 260)

    def has_image(self) -> bool:
        return self._pixmap is not None

    def set_image(self, image: QImage | None) -> None:
        self._pixmap = (
            QPixmap.fromImage(image) if image is not None and not image.isNull() else None
        )
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        bg = self.palette().color(QPalette.ColorRole.Base)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.setBrush(bg)
        painter.drawRoundedRect(self.rect().adjusted(0, 0, -1, -1), 8, 8)
        if self._caption:
            self._paint_caption(painter)
        if self._pixmap is None:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                self._placeholder,
            )
            return
        area = self.rect().adjusted(6, 6, -6, -6)
        if self._caption:
            area.setTop(area.top() + self.fontMetrics().height() + 4)
        size = self._pixmap.size()
        size.scale(area.size(), Qt.AspectRatioMode.KeepAspectRatio)
        target = QRect(0, 0, size.width(), size.height())
        target.moveCenter(area.center())
        painter.drawPixmap(target, self._pixmap)

    def _paint_caption(self, painter: QPainter) -> None:
        """A small bold caption in the top-left corner (what this picture is)."""
        font = painter.font()
        font.setWeight(font.Weight.DemiBold)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        painter.drawText(
            self.rect().adjusted(10, 6, -10, -6),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            self._caption,
        )
        font.setWeight(font.Weight.Normal)
        painter.setFont(font)
