"""The small preview picture phones store inside a JPEG's EXIF, for list thumbnails.

Decoding even a 1/8-scale 12 MP JPEG means reading all its compressed data (about 40-70 ms);
the EXIF thumbnail (typically 160x120) decodes in well under a millisecond. It is only used for
display (never for what is sent), only when it is at least as large as asked, and only when it
has the main image's shape, so a photo cropped by an editor that left the old thumbnail behind
is decoded in full instead.
"""

from __future__ import annotations

import io

from PIL import ExifTags, Image

_JPEG_OFFSET = 0x0201  # JPEGInterchangeFormat, from the start of the TIFF header
_JPEG_LENGTH = 0x0202  # JPEGInterchangeFormatLength
_EXIF_PREFIX = b"Exif\x00\x00"
#: Thumbnails larger than this are not what this is for (and could be costly).
MAX_BYTES = 256 * 1024


def embedded_thumbnail(im: Image.Image, long_edge: int) -> Image.Image | None:
    """The EXIF thumbnail of JPEG ``im`` as an RGB image, when it is usable for a display of
    ``long_edge`` px (see the module docstring); else None. Stored orientation, as the main
    image: the caller turns it upright the same way."""
    raw = im.info.get("exif")
    if im.mode != "RGB" or not isinstance(raw, bytes) or not raw.startswith(_EXIF_PREFIX):
        return None
    try:
        ifd1 = im.getexif().get_ifd(ExifTags.IFD.IFD1)
    except (KeyError, ValueError, TypeError, OSError, SyntaxError):
        return None
    offset, length = ifd1.get(_JPEG_OFFSET), ifd1.get(_JPEG_LENGTH)
    if not isinstance(offset, int) or not isinstance(length, int):
        return None
    if not 0 < length <= MAX_BYTES:
        return None
    start = len(_EXIF_PREFIX) + offset
    data = raw[start : start + length]
    if len(data) != length or not data.startswith(b"\xff\xd8"):
        return None
    try:
        with Image.open(io.BytesIO(data), formats=["JPEG"]) as thumb:
            thumb.load()
            pixels = thumb.convert("RGB")
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None
    tw, th = pixels.size
    w, h = im.size
    if max(tw, th) < long_edge:
        return None
    if abs(tw * h - th * w) > max(w, h):  # not the same shape (to within a pixel)
        return None
    return pixels
