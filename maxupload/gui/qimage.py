"""Pillow image to ``QImage`` conversion, safe on worker threads (``QImage`` is not a pixmap)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage


def pil_to_qimage(image: Any) -> QImage:
    """A deep-copied ``QImage`` of a Pillow image (RGB or RGBA; other modes are converted)."""
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    if image.mode == "RGB":
        data = image.tobytes("raw", "RGB")
        fmt = QImage.Format.Format_RGB888
        stride = 3 * image.width
    else:
        data = image.tobytes("raw", "RGBA")
        fmt = QImage.Format.Format_RGBA8888
        stride = 4 * image.width
    return QImage(data, image.width, image.height, stride, fmt).copy()


def scaled_from_bytes(data: bytes, long_edge: int) -> QImage:
    """Decode encoded image bytes (JPEG/PNG) and scale so the long edge fits ``long_edge``."""
    img = QImage.fromData(data)
    if img.isNull():
        return img
    if max(img.width(), img.height()) > long_edge:
        img = img.scaled(
            long_edge,
            long_edge,
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
    return img
