"""Pillow images become QImages in the formats pixmaps are made of, with the same pixels."""

from __future__ import annotations

from typing import Any

from PIL import Image
from PySide6.QtGui import QImage

from maxupload.gui.qimage import pil_to_qimage


def test_rgb_pixels_survive_in_a_32_bit_image(qapp: Any) -> None:
    im = Image.new("RGB", (3, 2), (10, 20, 30))
    im.putpixel((2, 1), (250, 128, 1))
    q = pil_to_qimage(im)
    assert q.format() == QImage.Format.Format_RGB32
    assert (q.width(), q.height()) == (3, 2)
    assert q.pixelColor(0, 0).getRgb() == (10, 20, 30, 255)
    assert q.pixelColor(2, 1).getRgb() == (250, 128, 1, 255)


def test_transparency_is_kept(qapp: Any) -> None:
    im = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    im.putpixel((1, 0), (200, 100, 50, 255))
    q = pil_to_qimage(im)
    assert q.hasAlphaChannel()
    assert q.pixelColor(0, 0).alpha() == 0
    assert q.pixelColor(1, 0).getRgb() == (200, 100, 50, 255)


def test_other_modes_are_converted(qapp: Any) -> None:
    q = pil_to_qimage(Image.new("L", (2, 2), 77))
    assert q.pixelColor(1, 1).getRgb() == (77, 77, 77, 255)
