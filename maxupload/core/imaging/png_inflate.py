"""PNG pixel data inflated by zlib-ng, where Pillow is linked to a slow zlib.

Pillow's Linux wheels use the system's zlib (Debian 12: zlib 1.2.13), whose inflate copies the
long repeats of a screenshot's flat areas byte by byte: half of a 2880x1800 screenshot's decode.
Here zlib-ng inflates the IDAT stream as Pillow reads it, and Pillow's own decoder is handed the
same bytes as *stored* (uncompressed) deflate blocks, which it only copies before undoing the
PNG row filters as usual. Pixels, modes, interlacing and every chunk stay Pillow's; only the
inflate changes. Where Pillow's zlib is already zlib-ng (its Windows and macOS wheels) nothing
changes. Measured: README, "Photo preparation".
"""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import cast

from PIL import Image, PngImagePlugin, features
from zlib_ng import zlib_ng

#: Largest stored block (deflate's limit) and how much is inflated per read (bounded memory).
_BLOCK = 0xFFFF
_PIECE = 16 * _BLOCK
#: zlib header for deflate with a 32 KB window, no dictionary (CMF 0x78, FLG 0x01: a multiple
#: of 31, as the format asks).
_ZLIB_HEADER = b"\x78\x01"
#: What zlib-ng raises for data that is not a valid deflate stream (typed loosely in its stubs).
_INFLATE_ERROR = cast("type[Exception]", zlib_ng.error)


@functools.cache
def pillow_inflates_slowly() -> bool:
    """True when Pillow's zlib is not zlib-ng (then this module's inflate is the faster one)."""
    version = features.version("zlib") or ""
    return "zlib-ng" not in version


class _StoredStream:
    """Stands in for a PNG's ``load_read``: takes its compressed IDAT bytes and gives back the
    same data as a zlib stream of stored blocks."""

    def __init__(self, read_compressed: Callable[[int], bytes]) -> None:
        self._read = read_compressed
        self._inflate = zlib_ng.decompressobj()
        self._adler = 1
        self._started = False
        self._finished = False

    def __call__(self, read_bytes: int) -> bytes:
        if self._finished:
            return b""
        head = b""
        if not self._started:
            self._started = True
            head = _ZLIB_HEADER
        raw = self._more(read_bytes)
        if raw is None:  # the deflate stream ended: a last empty block and the checksum
            self._finished = True
            return head + b"\x01\x00\x00\xff\xff" + struct.pack(">I", self._adler)
        self._adler = zlib_ng.adler32(raw, self._adler)
        return head + _stored_blocks(raw)

    def _more(self, read_bytes: int) -> bytes | None:
        """The next inflated piece (never empty), or None at the end of the stream."""
        try:
            while True:
                pending = self._inflate.unconsumed_tail
                if pending:
                    raw = self._inflate.decompress(pending, _PIECE)
                elif self._inflate.eof:
                    return None
                else:
                    compressed = self._read(read_bytes)
                    if not compressed:
                        raw = self._inflate.flush()
                        return raw or None
                    raw = self._inflate.decompress(compressed, _PIECE)
                if raw:
                    return raw
        except _INFLATE_ERROR as exc:
            raise OSError(f"damaged PNG pixel data ({exc})") from exc


def _stored_blocks(raw: bytes) -> bytes:
    """``raw`` as non-final stored deflate blocks."""
    parts: list[bytes | memoryview] = []
    view = memoryview(raw)
    for start in range(0, len(raw), _BLOCK):
        block = view[start : start + _BLOCK]
        parts.append(struct.pack("<BHH", 0, len(block), len(block) ^ 0xFFFF))
        parts.append(block)
    return b"".join(parts)


def inflate_with_zlib_ng(im: Image.Image, *, only_if_faster: bool = True) -> bool:
    """Have ``im`` (opened, pixels not loaded) inflate its pixel data with zlib-ng when that is
    the faster inflate (always, with ``only_if_faster`` False); True when it will. Animated
    PNGs are left to Pillow."""
    if not isinstance(im, PngImagePlugin.PngImageFile):
        return False
    if only_if_faster and not pillow_inflates_slowly():
        return False
    if getattr(im, "is_animated", False) or not im.tile or im.tile[0][0] != "zip":
        return False
    # ImageFile.load reads through ``load_read`` when the image has one: this instance's wins.
    setattr(im, "load_read", _StoredStream(im.load_read))  # noqa: B010
    return True
