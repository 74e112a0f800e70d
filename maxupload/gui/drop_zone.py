"""The drop area around the photo list: files and folders from the file manager, pasted images.

Handlers only read the URLs and return: scanning, hashing and decoding happen on the pool.
Files are never moved; MaxUpload reads them where they are.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImage
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QPushButton,
    QStackedLayout,
    QVBoxLayout,
    QWidget,
)

from maxupload.gui import names


def paths_from_mime(mime: QMimeData) -> list[Path]:
    """Local file and folder paths carried by a drag or the clipboard."""
    if not mime.hasUrls():
        return []
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile() and u.toLocalFile()]


def image_from_mime(mime: QMimeData) -> QImage | None:
    """Raw image data (a screenshot, an image copied in a browser), when there are no files."""
    if mime.hasImage():
        data = mime.imageData()
        if isinstance(data, QImage) and not data.isNull():
            return data
    return None


class DropZone(QFrame):
    """Shows a hint while empty and the photo list otherwise; takes drops anywhere on it.

    Signals:
        paths_dropped(list): local ``Path``s (files and folders) that were dropped.
        image_dropped(QImage): raw image data that was dropped.
        add_requested(): the "Add photos…" button in the empty hint was pressed.
    """

    paths_dropped = Signal(list)
    image_dropped = Signal(QImage)
    add_requested = Signal()

    def __init__(self, content: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(names.DROP_ZONE)
        self.setAccessibleName("Photos: drop files or folders here")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self._hovering = False

        hint = QWidget()
        title = QLabel("Drop photos or folders here")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setWeight(font.Weight.DemiBold)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub = QLabel(
            "JPEG, PNG, HEIC, TIFF, WebP. Your files stay where they are: MaxUpload sends "
            "a resized copy without location data. You can also paste with Ctrl+V."
        )
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setWordWrap(True)
        button = QPushButton("Add photos…")
        button.setAccessibleName("Add photos")
        button.clicked.connect(self.add_requested)
        self.add_hint_button = button
        box = QVBoxLayout(hint)
        box.addStretch(1)
        box.addWidget(title)
        box.addSpacing(6)
        box.addWidget(sub)
        box.addSpacing(14)
        box.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
        box.addStretch(1)

        self._stack = QStackedLayout(self)
        self._stack.addWidget(hint)
        self._stack.addWidget(content)
        self._apply_style()

    def show_content(self, has_rows: bool) -> None:
        self._stack.setCurrentIndex(1 if has_rows else 0)

    def showing_hint(self) -> bool:
        return self._stack.currentIndex() == 0

    def _apply_style(self) -> None:
        border = "palette(highlight)" if self._hovering else "palette(mid)"
        style = "dashed" if self.showing_hint() or self._hovering else "solid"
        self.setStyleSheet(
            f"#{names.DROP_ZONE} {{ border: 2px {style} {border}; border-radius: 10px; }}"
        )

    @staticmethod
    def accepts(mime: QMimeData) -> bool:
        return bool(paths_from_mime(mime)) or image_from_mime(mime) is not None

    # Qt drag and drop overrides.
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.accepts(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            self._hovering = True
            self._apply_style()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if self.accepts(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragLeaveEvent(self, event: object) -> None:
        self._hovering = False
        self._apply_style()

    def dropEvent(self, event: QDropEvent) -> None:
        self._hovering = False
        self._apply_style()
        if self.handle_mime(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)  # never a move of the user's files
            event.accept()
        else:
            event.ignore()

    def handle_mime(self, mime: QMimeData) -> bool:
        """Emit what ``mime`` carries (paths first, else raw image). True if anything was used."""
        paths = paths_from_mime(mime)
        if paths:
            self.paths_dropped.emit(paths)
            return True
        image = image_from_mime(mime)
        if image is not None:
            self.image_dropped.emit(image)
            return True
        return False
