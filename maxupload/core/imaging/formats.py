"""Which image files MaxUpload reads, how it recognises them by content, and how it opens them.

Type comes from the first bytes of the file, never from its extension, so a text file named
``.jpg`` or a HEIC named ``.jpeg`` gets the right answer. Opening reads only the header: the
pixel count is checked before any pixel is decoded, so a decompression bomb costs nothing.
"""

from __future__ import annotations

import re
import threading
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, UnidentifiedImageError

from maxupload.core.errors import MaxUploadError

#: Images above this many pixels are refused before decoding (about 100 megapixels).
DEFAULT_MAX_PIXELS = 100_000_000
#: How much of the end of a file the truncation check looks at.
TAIL_SIZE = 64 * 1024

#: Pillow format name -> MaxUpload kind, for the formats we accept.
PILLOW_KINDS: dict[str, str] = {
    "JPEG": "jpeg",
    "MPO": "mpo",
    "PNG": "png",
    "HEIF": "heic",
    "AVIF": "avif",
    "WEBP": "webp",
    "TIFF": "tiff",
    "BMP": "bmp",
    "GIF": "gif",
}

#: Pillow openers to try (MPO comes out of the JPEG opener; AVIF only where Pillow has it).
_OPEN_FORMATS = [f for f in PILLOW_KINDS if f != "MPO"]

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_VIDEO_BRANDS = {b"isom", b"iso2", b"mp41", b"mp42", b"qt  ", b"M4V ", b"3gp4", b"3gp5", b"avc1"}

NEXT_RECOPY = "Copy the photo again from the camera or phone; the file may be incomplete."
NEXT_CONVERT = "Open it in a photo app, save it as JPEG or PNG, and add that file instead."

_heif_lock = threading.Lock()
_heif_registered = False
_bomb_quiet = False


class ImageRejected(MaxUploadError):
    """A file MaxUpload cannot use as a photo, with the reason and what the user can do."""

    def __init__(self, reason: str, next_step: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self._next_step = next_step

    @property
    def next_step(self) -> str:
        return self._next_step


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say: a kind we read, or a reason we do not."""

    kind: str | None
    reason: str = ""
    next_step: str = ""


def register_heif() -> None:
    """Teach Pillow to open HEIC/HEIF (iPhone photos). Safe to call many times, from any thread."""
    global _heif_registered
    if _heif_registered:
        return
    with _heif_lock:
        if not _heif_registered:
            import pillow_heif

            Image.init()
            pillow_heif.register_heif_opener()
            _quiet_bomb_warning()
            _heif_registered = True


def _quiet_bomb_warning() -> None:
    """MaxUpload checks its own pixel limit on the header (see open_image), so Pillow's softer
    warning between its two limits only adds noise."""
    global _bomb_quiet
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    _bomb_quiet = True


def _register_for(fp: str | IO[bytes]) -> None:
    """Make Pillow ready to open ``fp``: a JPEG or PNG needs only Pillow's first plugins; any
    other file gets every plugin and HEIF (loading them costs about 50 ms, once)."""
    if not _heif_registered:
        kind = sniff(_peek(fp)).kind
        if kind in ("jpeg", "png"):
            Image.preinit()
            if not _bomb_quiet:
                with _heif_lock:
                    _quiet_bomb_warning()
            return
    register_heif()


def _peek(fp: str | IO[bytes]) -> bytes:
    """The first bytes of a file or of a seekable stream (b"" when they cannot be read)."""
    try:
        if isinstance(fp, str):
            with open(fp, "rb") as handle:
                return handle.read(32)
        where = fp.tell()
        head = fp.read(32)
        fp.seek(where)
        return head
    except (OSError, ValueError, AttributeError):
        return b""


def sniff(head: bytes) -> Sniffed:
    """Recognise the file type from its first bytes (32 or more are best)."""
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("webp")
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        if head[8:10] == b"CR":
            return Sniffed(
                None, "This is a Canon RAW file (CR2), not a finished photo.", NEXT_CONVERT
            )
        return Sniffed("tiff")
    if head[:2] == b"BM" and len(head) >= 18:
        return Sniffed("bmp")
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        brands = {head[i : i + 4] for i in range(8, min(len(head), 64) - 3, 4)}
        if brand in _HEIF_BRANDS or (brands & _HEIF_BRANDS and brand not in _VIDEO_BRANDS):
            return Sniffed("heic")
        if brand in _AVIF_BRANDS:
            return Sniffed("avif")
        if brand == b"crx ":
            return Sniffed(
                None, "This is a Canon RAW file (CR3), not a finished photo.", NEXT_CONVERT
            )
        return Sniffed(
            None,
            "This is a video, not a photo.",
            "Take a still photo (or a screenshot of the frame) and add that instead.",
        )
    if head.startswith(b"%PDF"):
        return Sniffed(
            None, "This is a PDF document, not a photo.", "Export the page as JPEG or PNG first."
        )
    if head[:2] == b"PK":
        return Sniffed(
            None, "This is a ZIP archive or office document, not a photo.", "Unpack it first."
        )
    stripped = head.lstrip()
    if stripped[:5].lower() in (b"<?xml", b"<svg ") or stripped[:4].lower() == b"<svg":
        return Sniffed(None, "This is a drawing (SVG/XML), not a photo.", NEXT_CONVERT)
    return Sniffed(
        None,
        "This file is not an image MaxUpload can read (JPEG, PNG, HEIC, WebP, TIFF, BMP, GIF).",
        "Check that you picked the right file; if it is a photo, save it as JPEG and try again.",
    )


def truncation_reason(kind: str, tail: bytes, head: bytes = b"", size: int = 0) -> str | None:
    """A cheap end-of-file check per format; a reason when the file stops before the image ends.

    ``tail`` is the last TAIL_SIZE bytes of the file, ``head`` its first bytes, ``size`` its
    length (both optional; used for formats that declare their length up front).
    """
    if kind in ("jpeg", "mpo"):
        # Entropy-coded data never holds FF D9 (an FF there is followed by 00 or a restart
        # marker), so a missing end marker means the file stops mid-image. Some cameras add a
        # trailer after the marker, hence a search in the tail rather than the last two bytes.
        if b"\xff\xd9" not in tail:
            return "The JPEG file is cut off (it ends before the image is complete)."
    elif kind == "png":
        if b"IEND" not in tail[-64:]:
            return "The PNG file is cut off (it ends before the image is complete)."
    elif kind == "gif" and not tail.rstrip(b"\x00").endswith(b";"):
        return "The GIF file is cut off (it ends before the image is complete)."
    elif kind == "webp" and len(head) >= 8 and size:
        declared = int.from_bytes(head[4:8], "little") + 8
        if size < declared:
            return "The WebP file is cut off (it ends before the image is complete)."
    return None


def check_content(head: bytes, tail: bytes, size: int) -> str:
    """The kind of a file from its first bytes, last TAIL_SIZE bytes and size.

    Raises ImageRejected when it is empty, not an image MaxUpload reads, or cut off.
    """
    if size == 0:
        raise ImageRejected("The file is empty (0 bytes).", NEXT_RECOPY)
    sniffed = sniff(head)
    if sniffed.kind is None:
        raise ImageRejected(sniffed.reason, sniffed.next_step)
    cut = truncation_reason(sniffed.kind, tail, head, size)
    if cut:
        raise ImageRejected(cut, NEXT_RECOPY)
    return sniffed.kind


def read_failure(exc: OSError) -> ImageRejected:
    """The answer for a photo file that cannot be read: gone, not allowed, a folder, or other."""
    if isinstance(exc, FileNotFoundError):
        return ImageRejected("The file no longer exists.", "Check the folder and add it again.")
    if isinstance(exc, PermissionError):
        return ImageRejected(
            "MaxUpload is not allowed to read this file (permission denied).",
            "Copy the photo to a folder you own (for example Pictures) and add the copy.",
        )
    if isinstance(exc, IsADirectoryError):
        return ImageRejected("This is a folder, not a photo.", "Add the photos inside it.")
    return ImageRejected(f"The file cannot be read ({exc.strerror or exc}).", NEXT_RECOPY)


def bomb_rejection(width: int, height: int, max_pixels: int) -> ImageRejected:
    """The answer for an image whose header claims more pixels than MaxUpload will decode."""
    megapixels = width * height / 1e6
    return ImageRejected(
        f"The image is too large to open safely ({width}x{height}, {megapixels:.0f} megapixels; "
        f"the limit is {max_pixels / 1e6:.0f}).",
        "Make a smaller copy (for example 4000 px on the long edge) in a photo app and add that.",
    )


def open_image(fp: str | IO[bytes], *, max_pixels: int = DEFAULT_MAX_PIXELS) -> Image.Image:
    """Open an accepted format lazily (header only) and refuse it if it has too many pixels.

    Raises ImageRejected with a reason for anything that is not a usable image.
    """
    _register_for(fp)
    try:
        im = Image.open(fp, formats=[f for f in _OPEN_FORMATS if f in Image.OPEN])
    except Image.DecompressionBombError as exc:
        # Pillow's own hard limit fired first (while reading the header, before any decoding).
        found = re.search(r"\((\d+) pixels\)", str(exc))
        pixels = int(found.group(1)) if found else 0
        raise ImageRejected(
            "The image is too large to open safely "
            f"({pixels / 1e6:.0f} megapixels; the limit is {max_pixels / 1e6:.0f}).",
            "Make a smaller copy (for example 4000 px on the long edge) in a photo app and add it.",
        ) from exc
    except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
        raise read_failure(exc) from exc  # opening by path: the file itself, not its contents
    except UnidentifiedImageError as exc:
        raise ImageRejected(
            "The file looks like an image but its contents are damaged or in an unusual variant.",
            NEXT_CONVERT,
        ) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(
            "The image is damaged (its header cannot be read).",
            NEXT_RECOPY,
        ) from exc
    width, height = im.size
    if width <= 0 or height <= 0:
        im.close()
        raise ImageRejected("The image has no pixels (its header says 0x0).", NEXT_CONVERT)
    if width * height > max_pixels:
        im.close()
        raise bomb_rejection(width, height, max_pixels)
    if im.format == "PNG":
        # Imported with the first PNG, not at start-up (it loads zlib-ng and Pillow's PNG code).
        from maxupload.core.imaging.png_inflate import inflate_with_zlib_ng

        inflate_with_zlib_ng(im)  # the faster inflate where Pillow's zlib is slow
    return im


def kind_of(im: Image.Image) -> str:
    """MaxUpload's kind name for an opened image ("jpeg", "heic", ...)."""
    return PILLOW_KINDS.get(im.format or "", (im.format or "unknown").lower())
