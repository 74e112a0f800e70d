"""Photos with patient labels and capture times, generated for the photo-check tests.

A label (drawn by the sandbox's label printer, or any zxing-cpp code) is shrunk, turned a few
degrees and pasted onto a generated photo, and the photo is saved with the EXIF capture time
a camera writes. Plain functions, so window and command-line tests can use them too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image, ImageFilter

from maxupload.sandbox.labels import code_image, label_for
from tests.plugins.images import photo, stored_for_orientation

EXIF_IFD, DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL = 0x8769, 0x9003, 0x9011
ORIENTATION = 0x0112


def capture_exif(
    taken: str | None, offset: str | None = None, *, orientation: int | None = None
) -> Image.Exif:
    """EXIF as a phone writes it: ``taken`` like "2026:03:20 19:45:00", ``offset`` like "-07:00"."""
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    sub = exif.get_ifd(EXIF_IFD)
    if taken is not None:
        sub[DATETIME_ORIGINAL] = taken
    if offset is not None:
        sub[OFFSET_TIME_ORIGINAL] = offset
    return exif


def scene(
    stickers: Sequence[Image.Image],
    *,
    size: tuple[int, int] = (2800, 2100),
    span: float = 0.4,
    angle: float = 4.0,
    seed: int = 5,
) -> Image.Image:
    """A photo with each sticker (label or code) spanning ``span`` of its width, turned a little.

    Stickers are laid out left to right, top to bottom, and the photo gets a camera's softness.
    """
    base = photo(*size, seed=seed)
    x, y = size[0] // 12, size[1] // 10
    for sticker in stickers:
        width = int(size[0] * span)
        height = max(1, width * sticker.height // sticker.width)
        small = sticker.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        turned = small.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
        mask = Image.new("L", small.size, 255).rotate(angle, expand=True)
        if x + turned.width > size[0]:
            x, y = size[0] // 12, y + turned.height + size[1] // 20
        base.paste(turned, (x, y), mask)
        x += turned.width + size[0] // 20
    return base.filter(ImageFilter.GaussianBlur(0.7))


def patient_label(patient: Mapping[str, Any]) -> Image.Image:
    """The sandbox's printed wristband label of a demo patient (camelCase dict)."""
    return label_for(patient)


def code_sticker(content: str, kind: str = "code128", module_px: int = 4) -> Image.Image:
    """A lone code on white (a product barcode, a QR with a URL, a JSON label...)."""
    return code_image(content, kind, module_px)


def save_photo(
    path: Path,
    image: Image.Image,
    *,
    taken: str | None = None,
    offset: str | None = None,
    orientation: int = 1,
    fmt: str | None = None,
) -> Path:
    """Save ``image`` (upright) as a camera would: stored for ``orientation``, with its EXIF."""
    stored = stored_for_orientation(image, orientation)
    exif = capture_exif(taken, offset, orientation=orientation if orientation != 1 else None)
    fmt = fmt or {".heic": "HEIF", ".png": "PNG", ".webp": "WEBP", ".tif": "TIFF"}.get(
        path.suffix.lower(), "JPEG"
    )
    options: dict[str, Any] = {"exif": exif if fmt == "JPEG" else exif.tobytes()}
    if fmt in ("JPEG", "HEIF", "WEBP"):
        options["quality"] = 90
    stored.save(path, fmt, **options)
    return path
