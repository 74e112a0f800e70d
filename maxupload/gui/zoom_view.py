"""An image view that fits its area by default and zooms to 100 % to judge detail, with panning.

Keys (when it has focus): ``1`` actual pixels (100 %), ``0`` fit, ``+``/``-`` zoom, arrow keys
pan; the mouse drags to pan and Ctrl+wheel zooms. Two views can follow each other (compare).
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QImage,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPixmap,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM = 0.05
MAX_ZOOM = 8.0
PAN_STEP = 60.0  # screen pixels per arrow key press


class ZoomView(QWidget):
    """Shows one image fitted (``zoom() is None``) or at a zoom factor in window units per
    image pixel; ``actual_size()`` shows one image pixel per physical screen pixel (so 2x
    displays show real detail too); ``center()`` is the image point in the middle of the view.

    Signals:
        view_changed(object, QPointF): zoom (None = fit) or centre changed by the user.
    """

    view_changed = Signal(object, QPointF)

    def __init__(self, placeholder: str, caption: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap: QPixmap | None = None
        self._placeholder = placeholder
        self._caption = caption
        self._zoom: float | None = None
        self._center = QPointF()
        self._drag_from: QPointF | None = None
        self.setMinimumSize(160, 80)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleDescription(
            "Press 1 for actual size, 0 to fit, plus and minus to zoom, arrow keys to move."
        )

    # --- state ------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(420, 360)

    def has_image(self) -> bool:
        return self._pixmap is not None

    def image_size(self) -> QSize:
        return self._pixmap.size() if self._pixmap is not None else QSize()

    def current_image(self) -> QImage | None:
        return self._pixmap.toImage() if self._pixmap is not None else None

    def set_image(self, image: QImage | None) -> None:
        """Show ``image`` fitted (a new image always starts fitted)."""
        ok = image is not None and not image.isNull()
        self._pixmap = QPixmap.fromImage(image) if ok and image is not None else None
        self._zoom = None
        if self._pixmap is not None:
            self._center = QRectF(self._pixmap.rect()).center()
        self.update()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    def zoom(self) -> float | None:
        return self._zoom

    def center(self) -> QPointF:
        return QPointF(self._center)

    def fit_scale(self) -> float:
        """Screen pixels per image pixel when fitted (never more than 1: small photos are not
        blown up)."""
        if self._pixmap is None:
            return 1.0
        area = self._image_area()
        size = self._pixmap.size()
        return min(1.0, area.width() / size.width(), area.height() / size.height())

    def scale(self) -> float:
        """Screen pixels per image pixel right now."""
        return self.fit_scale() if self._zoom is None else self._zoom

    def image_rect(self) -> QRectF:
        """Where the image is painted, in widget coordinates (may reach past the edges)."""
        if self._pixmap is None:
            return QRectF()
        area = self._image_area()
        s = self.scale()
        w, h = self._pixmap.width() * s, self._pixmap.height() * s
        if self._zoom is None:
            rect = QRectF(0, 0, w, h)
            rect.moveCenter(area.center())
            return rect
        mid = area.center()
        return QRectF(mid.x() - self._center.x() * s, mid.y() - self._center.y() * s, w, h)

    def set_view(self, zoom: float | None, center: QPointF | None = None) -> None:
        """Zoom (None fits) around ``center`` (image coordinates; default: keep it)."""
        if self._pixmap is None:
            return
        self._zoom = None if zoom is None else max(MIN_ZOOM, min(MAX_ZOOM, zoom))
        if center is not None:
            self._center = QPointF(center)
        self._clamp()
        self.update()

    def actual_size(self) -> None:
        """100 %: one image pixel per physical screen pixel."""
        self._user_view(1.0 / (self.devicePixelRatioF() or 1.0))

    def percent(self) -> int:
        """The zoom as shown to the user: 100 means actual pixels on this screen."""
        return round(self.scale() * (self.devicePixelRatioF() or 1.0) * 100)

    def fit(self) -> None:
        self._user_view(None)

    def zoom_by(self, factor: float) -> None:
        self._user_view(self.scale() * factor)

    def pan_by(self, dx: float, dy: float) -> None:
        """Move the picture by screen pixels (positive: show more of the right and bottom)."""
        if self._zoom is None or self._pixmap is None:
            return
        s = self.scale()
        self._center = QPointF(self._center.x() + dx / s, self._center.y() + dy / s)
        self._clamp()
        self.update()
        self.view_changed.emit(self._zoom, QPointF(self._center))

    def _user_view(self, zoom: float | None) -> None:
        self.set_view(zoom)
        self.view_changed.emit(self._zoom, QPointF(self._center))

    def _clamp(self) -> None:
        if self._pixmap is None:
            return
        x = max(0.0, min(float(self._pixmap.width()), self._center.x()))
        y = max(0.0, min(float(self._pixmap.height()), self._center.y()))
        self._center = QPointF(x, y)

    def _image_area(self) -> QRectF:
        area = QRectF(self.rect()).adjusted(6, 6, -6, -6)
        if self._caption:
            area.setTop(area.top() + self.fontMetrics().height() + 4)
        return area

    # --- input ------------------------------------------------------------------------
    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        k = Qt.Key
        steps = {
            k.Key_Left: (-PAN_STEP, 0.0),
            k.Key_Right: (PAN_STEP, 0.0),
            k.Key_Up: (0.0, -PAN_STEP),
            k.Key_Down: (0.0, PAN_STEP),
        }
        if key == k.Key_1:
            self.actual_size()
        elif key == k.Key_0:
            self.fit()
        elif key in (k.Key_Plus, k.Key_Equal):
            self.zoom_by(1.25)
        elif key == k.Key_Minus:
            self.zoom_by(0.8)
        elif key in steps and self._zoom is not None:
            self.pan_by(*steps[key])
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self._zoom is not None:
            self._drag_from = event.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            delta = event.position() - self._drag_from
            self._drag_from = event.position()
            self.pan_by(-delta.x(), -delta.y())
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._drag_from = None
        self.unsetCursor()
        super().mouseReleaseEvent(event)

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if self._zoom is None:
            self.actual_size()
        else:
            self.fit()

    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom_by(1.25 if event.angleDelta().y() > 0 else 0.8)
            event.accept()
        elif self._zoom is not None:
            d = event.angleDelta()
            self.pan_by(-d.x() / 2, -d.y() / 2)
            event.accept()
        else:
            super().wheelEvent(event)

    # --- painting ---------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        pal = self.palette()
        painter.setPen(
            pal.color(QPalette.ColorRole.Highlight if self.hasFocus() else QPalette.ColorRole.Mid)
        )
        painter.setBrush(pal.color(QPalette.ColorRole.Base))
        painter.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 8, 8)
        if self._pixmap is None:
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(
                self.rect().adjusted(12, 12, -12, -12),
                int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap),
                self._placeholder,
            )
        else:
            painter.save()
            painter.setClipRect(self._image_area())
            painter.drawPixmap(self.image_rect(), self._pixmap, QRectF(self._pixmap.rect()))
            painter.restore()
        if self._caption:
            self._paint_caption(painter)

    def _paint_caption(self, painter: QPainter) -> None:
        font = painter.font()
        font.setWeight(font.Weight.DemiBold)
        painter.setFont(font)
        painter.setPen(self.palette().color(QPalette.ColorRole.Text))
        text = self._caption
        if self._pixmap is not None:
            text += f"   {self.percent()} %"
        painter.drawText(
            self.rect().adjusted(10, 6, -10, -6),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop),
            text,
        )
