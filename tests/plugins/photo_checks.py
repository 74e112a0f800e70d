"""Photos for the upload path's check tests, judged by the product's own checks.

A photo carries its capture time in real EXIF (``DateTimeOriginal``, as a camera writes it)
and, optionally, a real Code128 barcode with a label text such as ``MRN:12345`` on it, so
``maxupload.core.checks.photo`` reads and judges them exactly as it does a clinic's photos.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tests.plugins.images import photo
from tests.plugins.label_photos import code_sticker, save_photo, scene


def write_checked_photo(
    path: Path, taken: datetime | None = None, label: str | None = None, seed: int = 1
) -> Path:
    """A JPEG taken at ``taken`` (camera wall time) showing a barcode of ``label`` if given."""
    image = scene([code_sticker(label)], seed=seed) if label else photo(640, 480, seed=seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    stamp = taken.strftime("%Y:%m:%d %H:%M:%S") if taken else None
    return save_photo(path, image, taken=stamp)
