"""libvips decodes and shrinks large images in one pass, a strip of rows at a time.

Two cases, where Pillow's decode and resample measured slowest:
- Plain PNGs (screenshots). A 2880x1800 screenshot to 2000 px took Pillow's decode (20 MB of
  pixels) and two bicubic passes (a 14 MB intermediate); libvips reads the PNG with libspng.
- A real shrink of a large JPEG, where DCT scaling cannot land near the size sent (High, 3000
  px, from 12 or 48 MP). Pillow's two bilinear passes over 12 MP took as long as the decode.
  libvips decodes at the same DCT scale (``shrink``, Pillow's ``draft``) with the same
  libjpeg-turbo and shrinks with lanczos3.

Either way libvips resamples in small vectorised strips as it decodes, so the full-size image
never exists. Where Pillow has decoded (the decode is shared with the photo checks, or the
source is another format), ``resample`` runs the filter ``resample.shrink`` chose on Pillow's
pixels: the same filter as Pillow's, vectorised. Pillow still opens the file, reads every chunk
or marker (EXIF, text, colour profile), orients, converts and encodes: only the pixels come
from here. libvips runs one thread per call (the callers already run one photo per core) with
its operation cache off, so memory stays flat. It is loaded with the first such shrink, never
at start-up; where it cannot load, Pillow does the work as before and this is logged once.
Measured: README, "Photo preparation".
"""

from __future__ import annotations

import functools
import io
import logging
from typing import IO, Any, cast

from PIL import Image, ImageFile, PngImagePlugin

from maxupload.core.imaging.resample import TRIM_LIMIT, VIPS_MIN_PIXELS, remaining_factor

log = logging.getLogger(__name__)

#: False: every image is decoded and shrunk by Pillow (as where libvips cannot be loaded).
ENABLED = True
#: lanczos3 measured 60 dB PSNR against Pillow's full LANCZOS on a screenshot, cubic 44 dB, for
#: 1-2 ms more than cubic; Pillow's bicubic path gave 44.5 dB. On a 12 MP photo to 3000 px:
#: 53.8 dB, against 48.6 dB for Pillow's bilinear path and 48.5 dB for libvips's linear.
KERNEL = "lanczos3"
#: Pillow's modes that libvips decodes from a JPEG to the same pixels (CMYK stays Pillow's) and
#: resamples for Pillow, with their bands.
_BANDS = {"RGB": 3, "L": 1}
#: The scales libjpeg decodes at (Pillow's ``draft``, libvips's ``shrink``).
_DCT_SCALES = (1, 2, 4, 8)
#: Pillow's raw modes that libvips decodes to the same pixels: 8 bits per channel, grey or
#: RGB, with or without alpha. Palettes, 16-bit and low bit depths stay Pillow's.
_PLAIN_RAWMODES = frozenset({"L", "LA", "RGB", "RGBA"})
_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}
#: The Pillow decoder that only skips pixel data (see ``skip_pixels``).
_SKIP_DECODER = "maxupload_skip_pixels"


#: Why libvips could not be loaded (empty until a load failed).
_load_error: list[str] = []


@functools.cache
def _pyvips() -> Any | None:
    """The pyvips module set up for one thread and no cache; None (logged once) without it."""
    try:
        import pyvips  # type: ignore[import-untyped]
    except Exception as exc:  # missing, or its shared library cannot load
        _load_error.append(f"{type(exc).__name__}: {exc}")
        log.warning("libvips is not available (%s); PNGs are shrunk with Pillow, more slowly", exc)
        return None
    pyvips.concurrency_set(1)
    pyvips.cache_set_max(0)
    return pyvips


def version() -> str:
    """libvips's version, loading it; "" when it cannot be loaded (``load_error`` says why)."""
    vips = _pyvips()
    if vips is None:
        return ""
    return f"{vips.version(0)}.{vips.version(1)}.{vips.version(2)}"


def load_error() -> str:
    """Why libvips could not be loaded; "" when it loaded or was not tried."""
    return "; ".join(_load_error)


def decodes_png(im: Image.Image) -> bool:
    """True for an opened, not yet decoded PNG whose pixels libvips decodes exactly as Pillow
    would (one frame, 8 bits per channel, no colour-key transparency) and libvips is usable."""
    if not ENABLED or not isinstance(im, PngImagePlugin.PngImageFile):
        return False
    tile = im.tile
    if getattr(im, "is_animated", False) or len(tile) != 1 or tile[0][0] != "zip":
        return False
    if tile[0][3] not in _PLAIN_RAWMODES or "transparency" in im.info:
        return False
    return _pyvips() is not None


def shrink_png(source: bytes | str, size: tuple[int, int]) -> Image.Image | None:
    """The PNG ``source`` (its bytes or path) decoded and shrunk to ``size``; None when libvips
    would not give exactly that size (Pillow then does it). Alpha is resampled premultiplied.
    Raises OSError when the pixel data is damaged."""
    vips = _pyvips()
    assert vips is not None, "decodes_png() first"
    try:
        if isinstance(source, str):
            v = vips.Image.pngload(source, access="sequential", fail_on="error")
        else:
            v = vips.Image.pngload_buffer(source, access="sequential", fail_on="error")
        return _shrunk(v, size)
    except vips.Error as exc:
        raise OSError(f"damaged PNG pixel data ({exc.message.strip()})") from exc


def shrinks_jpeg(im: Image.Image, size: tuple[int, int]) -> bool:
    """True for an opened JPEG (DCT scale chosen with ``draft``, not decoded) that libvips
    shrinks to ``size`` faster than Pillow: 8-bit RGB or grey, at least ``VIPS_MIN_PIXELS``
    decoded, with a real shrink left after the DCT scaling (not a trim), libvips usable."""
    if not ENABLED or im.format != "JPEG" or im.mode not in _BANDS:
        return False
    if im.width * im.height < VIPS_MIN_PIXELS or remaining_factor(im.size, size) <= TRIM_LIMIT:
        return False
    return _pyvips() is not None


def shrink_opened_jpeg(
    fp: str | IO[bytes], im: Image.Image, source_size: tuple[int, int], size: tuple[int, int]
) -> Image.Image | None:
    """``im`` (a JPEG of ``source_size`` opened from ``fp`` by Pillow, its DCT scale chosen by
    ``draft``, not decoded) decoded at that scale and shrunk to ``size`` by libvips; None where
    ``shrinks_jpeg`` says no, or libvips meets anything amiss, a mere warning included: Pillow
    then decodes the file and accepts or refuses it as it always did."""
    if not shrinks_jpeg(im, size):
        return None
    scaled = (s for s in _DCT_SCALES if im.size == tuple(-(-side // s) for side in source_size))
    scale = next(scaled, None)
    if scale is None:  # not a size libjpeg gives: leave it to Pillow
        return None
    vips = _pyvips()
    assert vips is not None
    source = source_of(fp)
    try:
        if isinstance(source, str):
            v = vips.Image.jpegload(source, shrink=scale, access="sequential", fail_on="warning")
        else:
            v = vips.Image.jpegload_buffer(
                source, shrink=scale, access="sequential", fail_on="warning"
            )
        if (v.width, v.height) != im.size or v.bands != _BANDS[im.mode]:
            return None
        return _shrunk(v, size)
    except vips.Error as exc:
        said = (exc.detail or exc.message).strip().splitlines() or [""]
        log.info("libvips did not decode a JPEG cleanly, Pillow does (%s)", said[-1])
        return None


def resample(im: Image.Image, size: tuple[int, int], kernel: str) -> Image.Image | None:
    """``im`` (RGB or grey, decoded by Pillow) resampled to ``size`` by libvips with ``kernel``
    (what ``resample.shrink`` chose); None where libvips is off or cannot load, or would not
    give exactly that size (Pillow then resamples)."""
    vips = _pyvips() if ENABLED else None
    if vips is None or im.mode not in _BANDS:
        return None
    try:
        bands = _BANDS[im.mode]
        v = vips.Image.new_from_memory(im.tobytes(), im.width, im.height, bands, "uchar")
        return _shrunk(v, size, kernel)
    except vips.Error as exc:
        log.warning("libvips could not resample, Pillow does (%s)", exc.message.strip())
        return None


def _shrunk(v: Any, size: tuple[int, int], kernel: str = KERNEL) -> Image.Image | None:
    """The libvips image ``v`` shrunk to ``size`` with ``kernel`` as a Pillow image; None when
    libvips would not give exactly that size or a mode Pillow has. Alpha is resampled
    premultiplied."""
    alpha = bool(v.hasalpha())
    if alpha:
        v = v.premultiply()
    v = v.resize(size[0] / v.width, vscale=size[1] / v.height, kernel=kernel)
    if alpha:
        v = v.unpremultiply().cast("uchar")
    if (v.width, v.height) != size or v.bands not in _MODES:
        return None
    mode = _MODES[v.bands]
    return _pillow_image(mode, size, v.write_to_memory())


def _pillow_image(mode: str, size: tuple[int, int], pixels: Any) -> Image.Image:
    """A Pillow image of ``pixels`` (libvips's rows). Its memory is not cleared first (the rows
    fill it): clearing 10 MB of fresh pages cost about as much as the shrink's last pass."""
    im = Image.new(mode, size, None)
    im.frombytes(pixels, "raw", mode)
    return im


def source_of(fp: str | IO[bytes]) -> bytes | str:
    """What ``shrink_png`` reads for a source ``prepare`` opened: a path, or the file's bytes
    (an in-memory file's own bytes object, not a copy)."""
    if isinstance(fp, str):
        return fp
    if isinstance(fp, io.BytesIO):
        return fp.getvalue()
    fp.seek(0)
    return fp.read()


def shrink_opened_png(
    fp: str | IO[bytes], im: Image.Image, size: tuple[int, int]
) -> Image.Image | None:
    """``im`` (opened from ``fp`` by Pillow, not decoded) decoded and shrunk to ``size`` by
    libvips, with Pillow's reading of its other chunks done (``skip_pixels``); None, with ``im``
    untouched, when libvips cannot give Pillow's result. OSError for damaged pixel data."""
    if not decodes_png(im):
        return None
    small = shrink_png(source_of(fp), size)
    if small is not None:
        skip_pixels(cast("PngImagePlugin.PngImageFile", im))
    return small


class _SkipPixels(ImageFile.PyDecoder):
    """Takes a PNG's pixel data and stops at once, decoding nothing."""

    _pulls_fd = False

    def decode(
        self, buffer: bytes | bytearray | memoryview | Image.SupportsArrayInterface
    ) -> tuple[int, int]:
        return -1, 0


Image.register_decoder(_SKIP_DECODER, _SkipPixels)


def skip_pixels(im: ImageFile.ImageFile) -> None:
    """Load ``im`` (an opened PNG) without decoding its pixels: Pillow still reads every chunk,
    including EXIF and text that follow the pixel data, so its EXIF, text and profile are the
    same as after a full load, and reading them later decodes nothing. ``im``'s own pixels are
    then blank: only its metadata may be used."""
    im.tile = [tile._replace(codec_name=_SKIP_DECODER) for tile in im.tile]
    im.load()
