"""Is this upload really a JPEG or PNG, as its part says? Magic bytes, then Pillow."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

ACCEPTED_TYPES = ("image/jpeg", "image/png")


def sniff(data: bytes) -> str | None:
    """The image type the bytes start with, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def check_image(data: bytes, declared_type: str) -> str | None:
    """None when ``data`` is a readable image of ``declared_type``, else a message saying why."""
    if not declared_type:
        return "The 'file' part has no Content-Type. Send it as image/jpeg or image/png"
    if declared_type not in ACCEPTED_TYPES:
        return (
            f"Unsupported file type '{declared_type}'. Only image/jpeg and image/png are accepted"
        )
    actual = sniff(data)
    if actual is None:
        return f"File content is not a JPEG or PNG image (declared {declared_type})"
    if actual != declared_type:
        return f"File content is {actual} but the part's Content-Type is {declared_type}"
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt = img.format
            img.verify()
        with Image.open(io.BytesIO(data)) as img:
            img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        return f"File is not a readable {declared_type} image ({exc.__class__.__name__})"
    if (fmt == "PNG") != (declared_type == "image/png"):
        return f"File content is {fmt} but the part's Content-Type is {declared_type}"
    return None
