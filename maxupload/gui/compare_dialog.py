"""Side by side: the photo as it will be (or was) sent and the stored copy fetched back from
Max AI, both zoomable and moving together so the same spot is compared at 100 %.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from maxupload.gui.zoom_view import ZoomView


class CompareDialog(QDialog):
    """Two ``ZoomView``s that follow each other's zoom and position.

    Signals: none of its own.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("compareDialog")
        self.setWindowTitle("Compare with the stored copy")
        self.local = ZoomView("No prepared photo.", "As it will be sent")
        self.local.setAccessibleName("The photo as it will be sent, zoomable")
        self.stored = ZoomView("No stored copy yet.", "Stored copy in Max AI")
        self.stored.setAccessibleName("The stored copy in Max AI, zoomable")
        self.local.view_changed.connect(lambda z, c: _follow(self.local, self.stored, z, c))
        self.stored.view_changed.connect(lambda z, c: _follow(self.stored, self.local, z, c))
        fit = QPushButton("Fit")
        fit.setAccessibleName("Fit both pictures")
        fit.clicked.connect(self.local.fit)
        actual = QPushButton("100 %")
        actual.setAccessibleName("Show both pictures at actual size")
        actual.clicked.connect(self.local.actual_size)
        close = QPushButton("Close")
        close.setAccessibleName("Close the comparison")
        close.clicked.connect(self.close)
        views = QHBoxLayout()
        views.addWidget(self.local, 1)
        views.addWidget(self.stored, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(fit)
        buttons.addWidget(actual)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addLayout(views, 1)
        layout.addLayout(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.resize(1100, 700)

    def show_images(self, title: str, local: QImage | None, stored: QImage | None) -> None:
        self.setWindowTitle(f"Compare with the stored copy: {title}")
        self.local.set_image(local)
        self.stored.set_image(stored)


def _follow(source: ZoomView, view: ZoomView, zoom: object, center: QPointF) -> None:
    """Show the same spot in ``view``: the centre is matched relative to each image's size and
    the zoom keeps both pictures at the same size on screen."""
    a, b = source.image_size(), view.image_size()
    if a.isEmpty() or b.isEmpty():
        return
    ratio = b.width() / a.width()
    z = None if zoom is None else float(zoom) / ratio  # type: ignore[arg-type]
    view.set_view(z, QPointF(center.x() * ratio, center.y() * ratio))
