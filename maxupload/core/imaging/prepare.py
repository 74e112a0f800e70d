"""Preparation: turn one photo into the upright, metadata-clean JPEG or PNG that is sent.

The sent file is written fresh from the pixels, with only a colour profile, so nothing from the
original's EXIF/XMP/IPTC/comments can leak. The fast path decodes JPEGs at a reduced scale
(libjpeg DCT scaling via ``Image.draft``), shrinks by whole factors with ``Image.reduce`` and
finishes with a filter chosen by the source and the factor left (``resample``); a real shrink of
a large JPEG and of a plain PNG is libvips's instead (``libvips``). Orientation and colour
conversion run on the small image.
"""

from __future__ import annotations

import hashlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar, cast

from PIL import Image, ImageCms

from maxupload.core.imaging import scratch
from maxupload.core.imaging.colour import _profile_name, _srgb_bytes, _transform
from maxupload.core.imaging.embedded_thumbnail import embedded_thumbnail
from maxupload.core.imaging.formats import (
    DEFAULT_MAX_PIXELS,
    NEXT_RECOPY,
    TAIL_SIZE,
    ImageRejected,
    check_content,
    kind_of,
    open_image,
    read_failure,
)
from maxupload.core.imaging.metadata import exif_orientation, found_metadata
from maxupload.core.imaging.presets import DEFAULT_PRESET, PRESETS, Preset, get_preset
from maxupload.core.imaging.resample import GRAPHICS_KINDS, shrink

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "DEFAULT_PRESET",
    "PRESETS",
    "ImageRejected",
    "Prepared",
    "Preset",
    "Receipt",
    "get_preset",
    "prepare",
    "prepare_with_view",
]

#: JPEG encoder settings, measured on a 2000x1500 photo (quality 85): a plain encode took 9 ms,
#: ``optimize`` (a second Huffman pass) 17 ms and saved 16% of the bytes; progressive took 42 ms
#: and saved nothing more, so it stays off.
JPEG_OPTIMIZE = True
JPEG_PROGRESSIVE = False
PNG_COMPRESS_LEVEL = 6

#: Decode JPEGs at the smallest DCT scale that is still at least DRAFT_GAP times the target.
#: 1.0 keeps libjpeg's scaled IDCT (a proper low-pass filter) as the first shrink step; the
#: resample after it (``resample.shrink``) sees at least the target size. Against a full decode +
#: LANCZOS the result measures 46-50 dB PSNR (test_fast_path_matches_a_full_quality_resize...
#: requires > 40 dB).
DRAFT_GAP = 1.0

_ORIENT_OPS: dict[int, tuple[Image.Transpose, str]] = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT, "mirrored left to right"),
    3: (Image.Transpose.ROTATE_180, "rotated 180°"),
    4: (Image.Transpose.FLIP_TOP_BOTTOM, "flipped top to bottom"),
    5: (Image.Transpose.TRANSPOSE, "rotated 90° and mirrored"),
    6: (Image.Transpose.ROTATE_270, "rotated 90°"),
    7: (Image.Transpose.TRANSVERSE, "rotated 270° and mirrored"),
    8: (Image.Transpose.ROTATE_90, "rotated 270°"),
}
_FORMAT_NAMES = {
    "jpeg": "JPEG",
    "mpo": "MPO",
    "png": "PNG",
    "heic": "HEIC",
    "avif": "AVIF",
    "webp": "WebP",
    "tiff": "TIFF",
    "bmp": "BMP",
    "gif": "GIF",
}
_WHITE = (255, 255, 255)
_T = TypeVar("_T")


@dataclass(frozen=True)
class Receipt:
    """What preparation did to one photo: changes made and metadata removed, in plain words."""

    source_format: str
    source_width: int
    source_height: int
    source_size: int
    changes: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    colour: str = ""

    def lines(self) -> list[str]:
        """Every change and removal as one sentence each, for the queue's detail view and logs."""
        out = list(self.changes)
        if self.removed:
            out.append("removed " + ", ".join(self.removed))
        if self.colour:
            out.append(self.colour)
        return out


@dataclass(frozen=True)
class Prepared:
    """The exact bytes to send, and what they are."""

    data: bytes
    mime_type: str
    width: int
    height: int
    sha256_original: str
    sha256_output: str
    file_name: str
    receipt: Receipt
    preset: str = DEFAULT_PRESET.name

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class _Rendered:
    image: Image.Image
    kind: str
    source_width: int
    source_height: int
    changes: list[str]
    removed: list[str]
    icc: bytes | None
    colour: str


def target_size(width: int, height: int, long_edge: int | None) -> tuple[int, int]:
    """The output size for a long edge; never larger than the source (no upscaling)."""
    if long_edge is None or max(width, height) <= long_edge:
        return width, height
    scale = long_edge / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _frames_note(im: Image.Image, kind: str) -> str | None:
    try:  # counting seeks through every page: a damaged later page fails here
        frames = int(getattr(im, "n_frames", 1) or 1)
    except (OSError, SyntaxError, ValueError, TypeError, EOFError, IndexError) as exc:
        raise ImageRejected(
            "The image is damaged: one of its later pages or frames cannot be read.", NEXT_RECOPY
        ) from exc
    if frames <= 1:
        return None
    if kind == "gif":
        return f"GIF: first frame only of {frames}"
    if kind == "mpo":
        return f"MPO: first image only of {frames} (the others are extra camera views)"
    if kind == "tiff":
        return f"TIFF: first page only of {frames}"
    return f"{_FORMAT_NAMES.get(kind, kind.upper())}: main image only of {frames}"


def _extrema(im: Image.Image) -> tuple[float, float]:
    """Lowest and highest value of a single-band image."""
    lo, hi = cast("tuple[float, float]", im.getextrema())
    return float(lo), float(hi)


def _to_working_mode(im: Image.Image, changes: list[str]) -> Image.Image:
    """Bring any decoded mode to one of L, LA, RGB, RGBA or CMYK (8 bits per channel)."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        return im
    if mode in ("P", "PA"):
        has_alpha = mode == "PA" or "transparency" in im.info
        changes.append("converted palette colours to full colour")
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode == "1":
        return im.convert("L")
    if mode.startswith("I;16") or mode == "I":
        changes.append("converted 16-bit greyscale to 8-bit")
        wide = im.convert("I") if mode != "I" else im
        _lo, hi = _extrema(wide)
        scale = 1 / 257 if hi > 255 else 1.0
        return wide.point(lambda v: v * scale).convert("L")
    if mode == "F":
        changes.append("converted floating-point greyscale to 8-bit")
        lo, hi = _extrema(im)
        span = hi - lo or 1.0
        return im.point(lambda v: (v - lo) * (255.0 / span)).convert("L")
    if mode in ("La", "RGBa"):
        return im.convert("LA" if mode == "La" else "RGBA")
    return im.convert("RGB")


def _colour(
    im: Image.Image, icc: bytes | None, changes: list[str]
) -> tuple[Image.Image, bytes | None, str]:
    """Bring colours to sRGB (or keep an sRGB-compatible profile); returns image, ICC, note."""
    if im.mode == "CMYK":
        name = _profile_name(icc) if icc else None
        if icc and name is not None:
            try:
                im = ImageCms.applyTransform(im, _transform(icc, "CMYK", "RGB"))  # type: ignore[assignment]
                changes.append(f"converted CMYK to sRGB (using the embedded profile {name})")
                return im, _srgb_bytes(), "colour profile: sRGB"
            except ImageCms.PyCMSError:
                pass
        changes.append("converted CMYK to sRGB")
        return im.convert("RGB"), None, ""
    if not icc:
        return im, None, ""
    name = _profile_name(icc)
    if name is None:
        return im, None, "removed a damaged colour profile"
    if "srgb" in name.lower() or im.mode in ("L", "LA"):
        return im, icc, f"colour profile kept ({name})"
    try:
        base_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        converted = ImageCms.applyTransform(im, _transform(icc, base_mode, base_mode))
    except ImageCms.PyCMSError:
        return im, None, f"removed a colour profile that could not be applied ({name})"
    assert converted is not None
    return converted, _srgb_bytes(), f"colour profile {name} converted to sRGB"


def _load_pixels(im: Image.Image) -> None:
    """Decode the pixels, answering a damaged file or a lack of memory with a reason."""
    _decoding(im.load)


def _decoding(step: Callable[[], _T]) -> _T:
    """``step()``, a decode, answering a damaged file or a lack of memory with a reason."""
    try:
        return step()
    except (OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise ImageRejected(
            "The image is damaged: its pixels cannot be decoded.", NEXT_RECOPY
        ) from exc
    except MemoryError as exc:
        raise ImageRejected(
            "There is not enough memory to open this image.",
            "Close other programs, or make a smaller copy of the photo and add that.",
        ) from exc


def _render(
    source: str | IO[bytes],
    long_edge: int | None,
    *,
    max_pixels: int,
    describe: bool,
    decoded: Callable[[Image.Image], None] | None = None,
) -> _Rendered:
    """Decode (fast path), shrink, orient and colour-correct one image.

    ``describe`` is True when preparing for sending: the metadata is listed for the receipt
    and embedded HEIC thumbnails are never used. ``decoded`` is shown the decoded pixels
    (before any resample or orientation) so other work can share this decode; Pillow then
    decodes (libvips, which shrinks as it decodes, is used only where nothing shares it).
    """
    im = open_image(source, max_pixels=max_pixels)
    handed_over = False  # the decoded image itself is the result (nothing to resize or convert)
    try:
        kind = kind_of(im)
        src_w, src_h = im.size
        changes: list[str] = []
        # Read the raw layout before anything (getexif on a PNG) loads the pixels.
        tile = getattr(im, "tile", None) or []
        rawmode = str(tile[0][3]) if tile and len(tile[0]) > 3 else ""
        if ";16" in rawmode and im.mode in ("RGB", "RGBA"):
            changes.append("converted 16-bit colour to 8-bit")
        frames = _frames_note(im, kind)
        if frames:
            changes.append(frames)
        target = target_size(src_w, src_h, long_edge)
        small = None  # pixels decoded and shrunk at once by libvips (``libvips``)
        if kind == "png":
            if decoded is None and target != (src_w, src_h):
                from maxupload.core.imaging import libvips  # with the first PNG, not at start

                small = _decoding(lambda: libvips.shrink_opened_png(source, im, target))
            # A PNG's EXIF may follow its pixels, so reading it decodes them: decode here, where
            # damaged pixel data is refused (read for the EXIF, the error was swallowed and a
            # second decode "succeeded" with the damaged rows left black). After libvips this
            # does nothing: Pillow has read every chunk and left the pixels to libvips.
            _load_pixels(im)
        orientation = exif_orientation(im)
        heif_orientation = im.info.get("original_orientation") if kind == "heic" else None
        # Display only (thumbnails): the EXIF thumbnail when it is large enough and the same
        # shape. Sent images always come from the main image.
        embedded = (
            embedded_thumbnail(im, max(target))
            if kind == "jpeg" and not describe and target != (src_w, src_h)
            else None
        )
        if embedded is None and kind in ("jpeg", "mpo") and target != (src_w, src_h):
            want = (math.ceil(target[0] * DRAFT_GAP), math.ceil(target[1] * DRAFT_GAP))
            im.draft(im.mode, want)
            if kind == "jpeg" and decoded is None:  # a decode to share stays Pillow's
                from maxupload.core.imaging import libvips  # with the first one, not at start

                small = _decoding(
                    lambda: libvips.shrink_opened_jpeg(source, im, (src_w, src_h), target)
                )
        elif kind == "heic" and not describe and target != (src_w, src_h):
            # Display only (thumbnails, previews): pillow-heif then decodes an embedded
            # thumbnail at least this large when it is an exact scaled copy (same orientation,
            # crop and colour profile). Sent images always come from the main image.
            im.draft(im.mode, (target[0] * 2, target[1] * 2))
        if small is None and embedded is None:
            _load_pixels(im)
            if decoded is not None:
                decoded(im)
        removed = found_metadata(im) if describe else []
        icc = im.info.get("icc_profile") or None
        work = _to_working_mode(small or embedded or im, changes)
        if work.mode in ("RGBA", "LA") and not _has_transparency(work):
            work = work.convert(work.mode[:-1])  # an unused alpha channel: resize less data
        work = shrink(work, target, graphics=kind in GRAPHICS_KINDS)
        if orientation in _ORIENT_OPS:
            op, words = _ORIENT_OPS[orientation]
            work = work.transpose(op)
            changes.append(f"{words} (EXIF orientation {orientation})")
        if target != (src_w, src_h):
            changes.append(f"resized to {work.width}x{work.height} (long edge {long_edge} px)")
        elif isinstance(heif_orientation, int) and heif_orientation in _ORIENT_OPS:
            changes.append(
                f"{_ORIENT_OPS[heif_orientation][1]} (orientation {heif_orientation}, "
                "applied by the HEIC decoder)"
            )
        if work is im:
            handed_over = _lets_go_of_its_file(im)
            if not handed_over:
                work = im.copy()
        work, icc_out, colour_note = _colour(work, icc if isinstance(icc, bytes) else None, changes)
        return _Rendered(work, kind, src_w, src_h, changes, removed, icc_out, colour_note)
    finally:
        if not handed_over:
            im.close()


def _lets_go_of_its_file(im: Image.Image) -> bool:
    """True for a decoded single-frame image: Pillow has let go of its file, so the image can be
    kept as the result instead of copied (a 12 MP copy costs 48 MB of fresh pages) and closed.
    An image with more frames keeps its file open for them."""
    return not getattr(im, "is_animated", False) and getattr(im, "n_frames", 1) == 1


def _has_transparency(im: Image.Image) -> bool:
    if im.mode not in ("RGBA", "LA"):
        return False
    lo, _hi = _extrema(im.getchannel("A"))
    return lo < 255


def _finish_mode(r: _Rendered, preset: Preset) -> tuple[Image.Image, str]:
    """Pick PNG (real transparency) or JPEG, flattening or dropping alpha as needed."""
    im = r.image
    if im.mode in ("RGBA", "LA"):
        if _has_transparency(im):
            if not preset.force_jpeg:
                return im, "PNG"
            base = Image.new("RGB", im.size, _WHITE)
            base.paste(im.convert("RGBA"), mask=im.getchannel("A"))
            r.changes.append("flattened transparency onto white")
            return base, "JPEG"
        im = im.convert("RGB" if im.mode == "RGBA" else "L")
    return im, "JPEG"


def _encode(im: Image.Image, fmt: str, quality: int, icc: bytes | None) -> bytes:
    im.info = {}  # nothing from the source rides along; the encoder sees only what we pass
    extra: dict[str, object] = {}
    if icc:
        extra["icc_profile"] = icc
    if fmt == "JPEG":
        extra.update(quality=quality, optimize=JPEG_OPTIMIZE, progressive=JPEG_PROGRESSIVE)
    else:
        extra["compress_level"] = PNG_COMPRESS_LEVEL
    # Into a file, not memory: Pillow then encodes without holding the GIL (see scratch.py).
    return scratch.encoded(lambda fh: im.save(fh, fmt, **extra))


def _read_source(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise read_failure(exc) from exc
    check_content(data[:64], data[-TAIL_SIZE:], len(data))
    return data


def prepare(
    path: str | Path,
    preset: Preset | str = DEFAULT_PRESET,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Prepared:
    """The upright, metadata-clean JPEG (or PNG, for transparency) to send for one photo.

    Raises ImageRejected (reason + next step) for anything that cannot be used.
    """
    return _prepare(path, preset, max_pixels)[0]


def prepare_with_view(
    path: str | Path,
    preset: Preset | str = DEFAULT_PRESET,
    view_px: int = 1024,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    decoded: Callable[[Image.Image], None] | None = None,
) -> tuple[Prepared, Image.Image]:
    """``prepare`` plus an RGB(A) view of the pixels sent, long edge at most ``view_px``, made
    from the same decode (the preview needs no second decode of the photo or of the copy).
    ``decoded`` is shown the decoded pixels first (the photo checks' label scan uses them)."""
    prepared, image = _prepare(path, preset, max_pixels, decoded)
    return prepared, _view_of(image, view_px)


def _view_of(image: Image.Image, size: int) -> Image.Image:
    """A display copy of prepared pixels, long edge at most ``size``."""
    view = shrink(image, target_size(image.width, image.height, size))
    if view is image:
        view = image.copy()
    if view.mode == "L":
        view = view.convert("RGB")
    elif view.mode == "LA":
        view = view.convert("RGBA")
    view.info = {}
    return view


def _prepare(
    path: str | Path,
    preset: Preset | str,
    max_pixels: int,
    decoded: Callable[[Image.Image], None] | None = None,
) -> tuple[Prepared, Image.Image]:
    chosen = get_preset(preset)
    data = _read_source(Path(path))
    sha_original = hashlib.sha256(data).hexdigest()
    rendered = _render(
        io.BytesIO(data), chosen.long_edge, max_pixels=max_pixels, describe=True, decoded=decoded
    )
    image, fmt = _finish_mode(rendered, chosen)
    if rendered.kind not in ("jpeg", "png") or (fmt == "PNG" and rendered.kind != "png"):
        source_name = _FORMAT_NAMES.get(rendered.kind, rendered.kind.upper())
        if source_name != fmt:
            rendered.changes.append(f"converted {source_name} to {fmt}")
    elif rendered.kind == "png" and fmt == "JPEG":
        rendered.changes.append("converted PNG to JPEG (no transparency to keep)")
    out = _encode(image, fmt, chosen.quality, rendered.icc)
    sha_output = hashlib.sha256(out).hexdigest()
    ext = "jpg" if fmt == "JPEG" else "png"
    receipt = Receipt(
        source_format=_FORMAT_NAMES.get(rendered.kind, rendered.kind.upper()),
        source_width=rendered.source_width,
        source_height=rendered.source_height,
        source_size=len(data),
        changes=rendered.changes,
        removed=rendered.removed,
        colour=rendered.colour,
    )
    prepared = Prepared(
        data=out,
        mime_type="image/jpeg" if fmt == "JPEG" else "image/png",
        width=image.width,
        height=image.height,
        sha256_original=sha_original,
        sha256_output=sha_output,
        file_name=f"photo-{sha_output[:8]}.{ext}",
        receipt=receipt,
        preset=chosen.name,
    )
    return prepared, image
