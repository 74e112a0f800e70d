"""Test images, generated on the fly: realistic photos, odd formats and broken files.

Plain functions (usable from benchmarks and other teams' tests) plus a few fixtures. Nothing is
committed in bulk; every file is written into the test's own temporary folder.
"""

from __future__ import annotations

import io
import math
import os
import random
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageStat

from maxupload.core.imaging.formats import register_heif

register_heif()

# --- EXIF tags used below ---------------------------------------------------------------------
ORIENTATION = 0x0112
MAKE, MODEL, ARTIST, DATETIME = 0x010F, 0x0110, 0x013B, 0x0132
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
BODY_SERIAL, LENS_SERIAL, OWNER_NAME = 0xA431, 0xA435, 0xA430
MAKER_NOTE, USER_COMMENT, DATETIME_ORIGINAL, IMAGE_UNIQUE_ID = 0x927C, 0x9286, 0x9003, 0xA420

SECRET_SERIAL = "SN-4471-PATIENTCAM"
SECRET_OWNER = "Dr Jane Example"
XMP_PACKET = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
    b"<dc:creator>Patient John Doe MRN 123456</dc:creator></rdf:Description></rdf:RDF>"
    b'</x:xmpmeta><?xpacket end="w"?>'
)


# --- pixels ----------------------------------------------------------------------------------
def photo(
    width: int = 640, height: int = 480, *, seed: int = 1, noise: float = 24.0
) -> Image.Image:
    """A photo-like RGB image: smooth lighting gradients, soft shapes, fine texture and noise.

    Shapes are drawn at a quarter of the size and scaled up (fast even at 12 MP); the grain is
    added at full size, so JPEG sizes are close to a phone's (about 3 MB for 12 MP at q92).
    The grain is random on every call: two calls never give identical files (copy a file to
    make a duplicate).
    """
    rng = random.Random(seed)
    sw, sh = max(8, width // 4), max(8, height // 4)
    gx = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize((sw, sh))
    gy = Image.radial_gradient("L").resize((sw, sh))
    base = Image.merge(
        "RGB",
        (
            gx.point(lambda v: 60 + v * 0.6),
            gy.point(lambda v: 40 + v * 0.5),
            Image.blend(gx, gy, 0.5).point(lambda v: 90 + v * 0.4),
        ),
    )
    draw = ImageDraw.Draw(base)
    for _ in range(14):
        x, y = rng.randrange(sw), rng.randrange(sh)
        r = rng.randrange(max(2, min(sw, sh) // 20), max(3, min(sw, sh) // 4))
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    for _ in range(40):  # hair-like strokes: real edges for the resampler to keep
        x, y = rng.randrange(sw), rng.randrange(sh)
        draw.line(
            (
                x,
                y,
                x + rng.randrange(-sw // 6, sw // 6 + 1),
                y + rng.randrange(-sh // 6, sh // 6 + 1),
            ),
            fill=(rng.randrange(60), rng.randrange(60), rng.randrange(60)),
            width=1,
        )
    base = base.filter(ImageFilter.GaussianBlur(radius=1)).resize(
        (width, height), Image.Resampling.BICUBIC
    )
    if noise > 0:
        grain = Image.merge("RGB", [Image.effect_noise((width, height), noise) for _ in range(3)])
        base = Image.blend(base, grain, 0.22)
    return base


def screenshot(size: tuple[int, int] = (2880, 1800)) -> Image.Image:
    """A screen capture: flat panels, text-like strokes and a photo inset (sharp edges that a
    soft resample filter blurs, unlike a photo's grain)."""
    im = Image.new("RGB", size, (242, 242, 247))
    draw = ImageDraw.Draw(im)
    w, h = size
    draw.rectangle((0, 0, w, 90), fill=(30, 60, 110))
    draw.rectangle((0, 90, 420, h), fill=(225, 228, 235))
    for y in range(130, h - 40, 34):
        for x in range(460, w - 700, 90):
            draw.rectangle((x, y, x + 60 + (x * y) % 25, y + 14), fill=(60, 60, 70))
    im.paste(photo(600, 450, seed=9), (w - 660, 140))
    return im


def psnr(a: Image.Image, b: Image.Image) -> float:
    """Peak signal-to-noise ratio of two same-size images in dB (99 when identical)."""
    diff = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    mse = sum(ImageStat.Stat(diff.point(lambda v: v * v)).mean) / 3
    return 99.0 if mse == 0 else 10 * math.log10(255 * 255 / mse)


def worst_preset_psnr(path: Path, full: Image.Image, presets: tuple[str, ...]) -> float:
    """The lowest PSNR, over ``presets``, of the pixels ``prepare`` encodes for ``path`` against
    ``full`` (the photo's every pixel) resized to the same size with LANCZOS."""
    from maxupload.core.imaging.presets import get_preset
    from maxupload.core.imaging.thumbnails import preview

    worst = 99.0
    for preset in presets:
        long_edge = get_preset(preset).long_edge
        assert long_edge is not None
        fast = preview(path, long_edge)  # the pixels prepare() encodes, before encoding
        worst = min(worst, psnr(fast, full.resize(fast.size, Image.Resampling.LANCZOS)))
    return worst


def marker_image(width: int = 120, height: int = 80) -> Image.Image:
    """An asymmetric test card (distinct colour per corner) that shows any wrong rotation/flip."""
    im = Image.new("RGB", (width, height), (128, 128, 128))
    draw = ImageDraw.Draw(im)
    w3, h3 = width // 3, height // 3
    draw.rectangle((0, 0, w3, h3), fill=(230, 20, 20))  # top-left red
    draw.rectangle((width - w3, 0, width, h3), fill=(20, 200, 20))  # top-right green
    draw.rectangle((0, height - h3, w3, height), fill=(20, 20, 230))  # bottom-left blue
    draw.rectangle((width - w3, height - h3, width, height), fill=(240, 240, 20))  # yellow
    return im


#: Transpose that stores an upright image so that EXIF orientation N shows it upright again.
_STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def stored_for_orientation(upright: Image.Image, orientation: int) -> Image.Image:
    """The pixels a camera stores for ``upright`` when it tags them with ``orientation``."""
    op = _STORE_FOR_ORIENTATION[orientation]
    return upright.copy() if op is None else upright.transpose(op)


# --- metadata --------------------------------------------------------------------------------
def identifying_exif(*, orientation: int | None = None, gps: bool = True) -> Image.Exif:
    """EXIF as a phone or camera writes it: GPS, serial numbers, owner, maker notes, dates."""
    exif = Image.Exif()
    exif[MAKE] = "ExampleCam"
    exif[MODEL] = "Model 7"
    exif[ARTIST] = SECRET_OWNER
    exif[DATETIME] = "2026:03:20 18:30:00"
    if orientation is not None:
        exif[ORIENTATION] = orientation
    sub = exif.get_ifd(EXIF_IFD)
    sub[BODY_SERIAL] = SECRET_SERIAL
    sub[LENS_SERIAL] = "LENS-99881"
    sub[OWNER_NAME] = SECRET_OWNER
    sub[MAKER_NOTE] = b"MAKERNOTE-SECRET-BLOB"
    sub[DATETIME_ORIGINAL] = "2026:03:20 18:30:00"
    sub[IMAGE_UNIQUE_ID] = "0123456789abcdef0123456789abcdef"
    if gps:
        g = exif.get_ifd(GPS_IFD)
        g[1] = "N"
        g[2] = (40.0, 44.0, 54.36)
        g[3] = "W"
        g[4] = (73.0, 59.0, 8.5)
    return exif


def insert_jpeg_segment(data: bytes, marker: int, payload: bytes) -> bytes:
    """Insert an APPn/COM segment right after SOI (for IPTC, which Pillow cannot write)."""
    assert data[:2] == b"\xff\xd8"
    seg = bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + seg + data[2:]


def iptc_segment() -> bytes:
    """A Photoshop APP13 payload with an IPTC caption naming a patient."""
    caption = b"Patient John Doe wound day 3"
    record = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    block = b"8BIM" + b"\x04\x04" + b"\x00\x00" + struct.pack(">I", len(record)) + record
    if len(record) % 2:
        block += b"\x00"
    return b"Photoshop 3.0\x00" + block


def adobe_rgb_icc() -> bytes:
    """A small ICC v2 matrix/TRC profile with Adobe RGB (1998) primaries: a non-sRGB source."""

    def s15(v: float) -> bytes:
        return struct.pack(">i", round(v * 65536))

    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + s15(x) + s15(y) + s15(z)

    desc_text = b"Wide Gamut Test RGB\0"
    desc = (
        b"desc"
        + b"\0" * 4
        + struct.pack(">I", len(desc_text))
        + desc_text
        + struct.pack(">II", 0, 0)
        + struct.pack(">HB", 0, 0)
        + b"\0" * 67
    )
    curve = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 563) + b"\0\0"  # gamma 2.2
    tags = [
        (b"desc", desc),
        (b"cprt", b"text" + b"\0" * 4 + b"No copyright\0"),
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.6097, 0.3111, 0.0195)),
        (b"gXYZ", xyz(0.2053, 0.6257, 0.0609)),
        (b"bXYZ", xyz(0.1492, 0.0632, 0.7446)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table = b""
    body = b""
    for sig, data in tags:
        while (offset + len(body)) % 4:
            body += b"\0"
        table += sig + struct.pack(">II", offset + len(body), len(data))
        body += data
    total = offset + len(body)
    header = (
        struct.pack(">I", total)
        + b"\0" * 4
        + bytes((2, 0x10, 0, 0))
        + b"mntr"
        + b"RGB "
        + b"XYZ "
        + b"\0" * 12
        + b"acsp"
        + b"\0" * 4
        + b"\0" * 4
        + b"\0" * 8
        + b"\0" * 8
        + struct.pack(">I", 0)
        + s15(0.9642)
        + s15(1.0)
        + s15(0.8249)
        + b"\0" * 4
        + b"\0" * 44
    )
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + body


# --- files -----------------------------------------------------------------------------------
def write_jpeg(
    path: Path,
    im: Image.Image | None = None,
    *,
    orientation: int | None = None,
    metadata: bool = True,
    quality: int = 90,
    icc: bytes | None = None,
) -> Path:
    """A JPEG as a phone writes it: EXIF (GPS, serials, owner, maker notes), XMP, IPTC, comment."""
    im = im if im is not None else photo()
    buf = io.BytesIO()
    kwargs: dict[str, object] = {"quality": quality}
    if metadata or orientation is not None:
        kwargs["exif"] = identifying_exif(orientation=orientation, gps=metadata).tobytes()
    if metadata:
        kwargs["comment"] = b"Patient John Doe, MRN 123456"
        kwargs["xmp"] = XMP_PACKET
    if icc:
        kwargs["icc_profile"] = icc
    im.save(buf, "JPEG", **kwargs)
    data = buf.getvalue()
    if metadata:
        data = insert_jpeg_segment(data, 0xED, iptc_segment())
    path.write_bytes(data)
    return path


def write_oriented_jpeg(path: Path, upright: Image.Image, orientation: int, **kw: object) -> Path:
    """A JPEG whose stored pixels need EXIF ``orientation`` to look like ``upright``."""
    return write_jpeg(
        path, stored_for_orientation(upright, orientation), orientation=orientation, **kw
    )  # type: ignore[arg-type]


def write_heic(
    path: Path, im: Image.Image | None = None, *, orientation: int | None = None
) -> Path:
    """An iPhone-like HEIC with EXIF (GPS, serial) and optionally an orientation."""
    im = im if im is not None else photo()
    exif = identifying_exif(orientation=orientation)
    im.save(path, "HEIF", quality=80, exif=exif.tobytes())
    return path


def write_cmyk_jpeg(path: Path, size: tuple[int, int] = (200, 150)) -> Path:
    """A print-style CMYK JPEG (Adobe APP14 marker) with a few flat colour patches."""
    im = photo(*size).convert("CMYK")
    im.save(path, "JPEG", quality=92)
    return path


def write_png16(path: Path, size: tuple[int, int] = (256, 128)) -> Path:
    """A 16-bit greyscale PNG (mode I;16) with a full-range ramp."""
    w, h = size
    im = Image.new("I;16", size)
    im.putdata([(x * 65535) // (w - 1) for _y in range(h) for x in range(w)])
    im.save(path, "PNG")
    return path


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png48(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """A 48-bit RGB PNG (16 bits per channel), written by hand since Pillow cannot."""
    w, h = size
    rows = []
    for y in range(h):
        row = bytearray(b"\0")
        for x in range(w):
            row += struct.pack(">HHH", x * 65535 // (w - 1), y * 65535 // (h - 1), 40000)
        rows.append(bytes(row))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + _png_chunk(b"IEND", b"")
    )
    return path


def write_tiff48(path: Path, size: tuple[int, int] = (64, 48)) -> Path:
    """An uncompressed 48-bit RGB TIFF (16 bits per channel, little-endian), written by hand."""
    w, h = size
    pixels = b"".join(
        struct.pack("<HHH", x * 65535 // (w - 1), y * 65535 // (h - 1), 40000)
        for y in range(h)
        for x in range(w)
    )
    entries = [  # (tag, type, count, value): 3 = SHORT, 4 = LONG
        (256, 4, 1, w),
        (257, 4, 1, h),
        (258, 3, 3, 0),  # BitsPerSample -> offset patched below
        (259, 3, 1, 1),  # no compression
        (262, 3, 1, 2),  # RGB
        (273, 4, 1, 0),  # StripOffsets -> patched
        (277, 3, 1, 3),
        (278, 4, 1, h),
        (279, 4, 1, len(pixels)),
        (284, 3, 1, 1),
    ]
    ifd_offset = 8
    ifd_size = 2 + 12 * len(entries) + 4
    bps_offset = ifd_offset + ifd_size
    data_offset = bps_offset + 6
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_offset))
    out += struct.pack("<H", len(entries))
    for tag, typ, count, value in entries:
        if tag == 258:
            value = bps_offset
        elif tag == 273:
            value = data_offset
        if typ == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    out += struct.pack("<I", 0)
    out += struct.pack("<HHH", 16, 16, 16)
    out += pixels
    path.write_bytes(bytes(out))
    return path


def write_alpha_png(path: Path, size: tuple[int, int] = (200, 150), *, mode: str = "RGBA") -> Path:
    """A PNG with real transparency (a transparent border around an opaque photo)."""
    im = photo(*size).convert(mode if mode != "LA" else "L")
    alpha = Image.new("L", size, 0)
    ImageDraw.Draw(alpha).rectangle((20, 20, size[0] - 20, size[1] - 20), fill=255)
    im.putalpha(alpha)
    im.save(path, "PNG")
    return path


def write_palette_gif(path: Path, size: tuple[int, int] = (160, 120)) -> Path:
    """A single-frame palette GIF."""
    photo(*size).quantize(64).save(path, "GIF")
    return path


def write_animated_gif(path: Path, frames: int = 12, size: tuple[int, int] = (120, 90)) -> Path:
    """An animated GIF with ``frames`` different frames."""
    images = [photo(*size, seed=i, noise=0).quantize(32) for i in range(frames)]
    images[0].save(path, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return path


def write_mpo(path: Path, size: tuple[int, int] = (160, 120)) -> Path:
    """A two-image MPO (stereo/depth cameras) with EXIF."""
    left, right = photo(*size, seed=1), photo(*size, seed=2)
    left.save(path, "MPO", save_all=True, append_images=[right], exif=identifying_exif().tobytes())
    return path


def write_format(path: Path, fmt: str, im: Image.Image | None = None) -> Path:
    """``im`` (default: a photo) saved in a plain Pillow format: WEBP, TIFF, BMP, PNG, GIF."""
    (im if im is not None else photo()).save(path, fmt)
    return path


def write_truncated_jpeg(path: Path, keep: float = 0.6) -> Path:
    """A JPEG cut off part-way, as an interrupted copy leaves it."""
    buf = io.BytesIO()
    photo(400, 300).save(buf, "JPEG", quality=90)
    data = buf.getvalue()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_bomb_png(path: Path, side: int = 20_000) -> Path:
    """A real, valid ``side``x``side`` PNG (1-bit, all black) that compresses to a few KB."""
    row = b"\0" + b"\0" * ((side + 7) // 8)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row) for _ in range(side)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )
    return path


def write_text_as_jpg(path: Path) -> Path:
    """A text file wearing a photo's name."""
    path.write_text("Patient notes: this is not a photo.\n", encoding="utf-8")
    return path


def exif_with_thumbnail(thumbnail: Image.Image, *, orientation: int | None = None) -> bytes:
    """EXIF as phones write it for a JPEG: IFD0 (the orientation) and IFD1 holding a small
    JPEG thumbnail (``thumbnail`` in stored orientation, like the main image)."""
    buf = io.BytesIO()
    thumbnail.convert("RGB").save(buf, "JPEG", quality=80)
    thumb = buf.getvalue()
    ifd0 = [(ORIENTATION, 3, orientation or 1)]
    ifd0_size = 2 + 12 * len(ifd0) + 4
    ifd1_at = 8 + ifd0_size
    ifd1_size = 2 + 12 * 3 + 4
    data_at = ifd1_at + ifd1_size
    ifd1 = [(0x0103, 3, 6), (0x0201, 4, data_at), (0x0202, 4, len(thumb))]

    def entries(rows: list[tuple[int, int, int]], next_at: int) -> bytes:
        out = struct.pack("<H", len(rows))
        for tag, kind, value in rows:
            packed = struct.pack("<HH", value, 0) if kind == 3 else struct.pack("<I", value)
            out += struct.pack("<HHI", tag, kind, 1) + packed
        return out + struct.pack("<I", next_at)

    tiff = b"II*\x00" + struct.pack("<I", 8) + entries(ifd0, ifd1_at) + entries(ifd1, 0) + thumb
    return b"Exif\x00\x00" + tiff


def write_phone_jpeg_with_thumbnail(
    path: Path,
    im: Image.Image,
    *,
    thumbnail: Image.Image | None = None,
    orientation: int | None = None,
    quality: int = 92,
) -> Path:
    """A JPEG with an EXIF thumbnail (by default ``im`` scaled to 160 px, as phones store)."""
    if thumbnail is None:
        thumbnail = im.copy()
        thumbnail.thumbnail((160, 160))
    im.save(
        path, "JPEG", quality=quality, exif=exif_with_thumbnail(thumbnail, orientation=orientation)
    )
    return path


def write_realistic_photo(
    path: Path,
    size: tuple[int, int] = (4000, 3000),
    *,
    seed: int = 1,
    orientation: int = 6,
    quality: int = 92,
) -> Path:
    """A 12 MP phone photo (noise + gradients), EXIF orientation 6, GPS and serials."""
    return write_jpeg(path, photo(*size, seed=seed), orientation=orientation, quality=quality)


# --- fixtures --------------------------------------------------------------------------------
@pytest.fixture
def images_dir(tmp_path: Path) -> Path:
    """An empty folder for generated images."""
    folder = tmp_path / "images"
    folder.mkdir()
    return folder


@pytest.fixture
def phone_jpeg(images_dir: Path) -> Path:
    """A phone JPEG (640x480 stored, orientation 6) with GPS, serials, XMP, IPTC and a comment."""
    return write_jpeg(images_dir / "IMG_0001.JPG", photo(640, 480), orientation=6)


@pytest.fixture
def heic_photo(images_dir: Path) -> Path:
    """An iPhone-style HEIC with GPS and serial numbers."""
    return write_heic(images_dir / "IMG_0002.HEIC", photo(320, 240))


@pytest.fixture
def mixed_folder(images_dir: Path) -> Path:
    """A folder as clinics have them: good photos in nested folders, junk, and bad files."""
    root = images_dir / "visit"
    (root / "day 1" / "close-ups").mkdir(parents=True)
    write_jpeg(root / "day 1" / "wound.jpg", photo(320, 240, seed=3))
    write_heic(root / "day 1" / "close-ups" / "IMG_0003.HEIC", photo(320, 240, seed=4))
    write_alpha_png(root / "diagram.png")
    write_truncated_jpeg(root / "cut.jpg")
    (root / "empty.jpg").write_bytes(b"")
    write_text_as_jpg(root / "notes.jpg")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    (root / "._wound.jpg").write_bytes(b"\0\5\26\7")
    return root


@pytest.fixture
def make_image(images_dir: Path) -> Callable[..., Path]:
    """Factory: ``make_image(name, kind="jpeg", **kw)`` writes one generated image file."""
    writers: dict[str, Callable[..., Path]] = {
        "jpeg": write_jpeg,
        "heic": write_heic,
        "cmyk": write_cmyk_jpeg,
        "png16": write_png16,
        "png48": write_png48,
        "alpha": write_alpha_png,
        "gif": write_palette_gif,
        "animated": write_animated_gif,
        "mpo": write_mpo,
        "truncated": write_truncated_jpeg,
        "bomb": write_bomb_png,
        "text": write_text_as_jpg,
    }

    def make(name: str, kind: str = "jpeg", **kw: object) -> Path:
        path = images_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if kind in writers:
            return writers[kind](path, **kw)
        return write_format(path, kind.upper(), **kw)  # type: ignore[arg-type]

    return make


def can_drop_privileges() -> bool:
    """True when running as root on POSIX, where a forked child can become 'nobody'."""
    return hasattr(os, "geteuid") and os.geteuid() == 0 and hasattr(os, "fork")
