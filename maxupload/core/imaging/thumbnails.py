"""Display images of a photo for the list and the preview pane, by the fast path.

Upright RGB (or RGBA when transparency matters), long edge at most the asked size, decoded at a
reduced scale where the format allows; nothing here is ever sent.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from maxupload.core.imaging.formats import DEFAULT_MAX_PIXELS
from maxupload.core.imaging.prepare import _has_transparency, _render


def _display(path: str | Path, size: int, max_pixels: int) -> Image.Image:
    rendered = _render(str(Path(path)), size, max_pixels=max_pixels, describe=False)
    im = rendered.image
    if im.mode == "L":
        im = im.convert("RGB")
    elif im.mode == "LA":
        im = im.convert("RGBA")
    if im.mode == "RGBA" and not _has_transparency(im):
        im = im.convert("RGB")
    im.info = {}
    return im


def thumbnail(
    path: str | Path, size: int = 256, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """An upright RGB (or RGBA) image whose long edge is at most ``size``, by the fast path."""
    return _display(path, size, max_pixels)


def preview(
    path: str | Path, size: int = 1024, *, max_pixels: int = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """An upright RGB (or RGBA) image for the preview pane, long edge at most ``size``."""
    return _display(path, size, max_pixels)
