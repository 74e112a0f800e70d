"""PNG pixel data inflated by zlib-ng: the same pixels as Pillow's own decode, in every PNG
layout, and a damaged or cut stream still refused with a reason."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from maxupload.core.imaging.formats import ImageRejected, open_image
from maxupload.core.imaging.png_inflate import inflate_with_zlib_ng, pillow_inflates_slowly
from maxupload.core.imaging.prepare import prepare
from tests.plugins.images import photo, screenshot, write_png16, write_png48

_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2)]
_ADAM7.append((0, 1, 1, 2))


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        out.append((kind, data[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return out


def _png(chunks: list[tuple[bytes, bytes]]) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + b"".join(_chunk(kind, body) for kind, body in chunks)


def write_interlaced_png(path: Path, im: Image.Image) -> Path:
    """An Adam7-interlaced RGB PNG, written by hand since Pillow cannot."""
    w, h = im.size
    px = im.convert("RGB").load()
    assert px is not None
    raw = bytearray()
    for x0, y0, dx, dy in _ADAM7:
        for y in range(y0, h, dy):
            xs = range(x0, w, dx)
            if xs:
                raw += b"\0" + b"".join(bytes(px[x, y]) for x in xs)  # type: ignore[arg-type]
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 1)
    body = zlib.compress(bytes(raw), 9)
    half = len(body) // 2  # two IDAT chunks: the stream spans chunk boundaries
    path.write_bytes(
        _png([(b"IHDR", ihdr), (b"IDAT", body[:half]), (b"IDAT", body[half:]), (b"IEND", b"")])
    )
    return path


def _variants(folder: Path) -> list[Path]:
    base = photo(300, 200, seed=5)
    out = []
    for mode in ("RGB", "RGBA", "L", "LA", "P", "1"):
        path = folder / f"{mode}.png"
        im = base.convert(mode)
        if mode == "RGBA":
            im.putalpha(Image.linear_gradient("L").resize(im.size))
        im.save(path, "PNG", **({"transparency": 3} if mode == "P" else {}))
        out.append(path)
    big = folder / "screenshot.png"  # long repeats, many IDAT chunks
    screenshot((1440, 900)).save(big, "PNG")
    out.append(big)
    out.append(write_png16(folder / "grey16.png"))
    out.append(write_png48(folder / "rgb48.png"))
    out.append(write_interlaced_png(folder / "adam7.png", base))
    return out


def test_pixels_are_the_ones_pillow_decodes_in_every_png_layout(images_dir: Path) -> None:
    for path in _variants(images_dir):
        with Image.open(path) as plain:
            plain.load()
            expected = (plain.mode, plain.size, plain.tobytes(), plain.info.get("transparency"))
        with Image.open(path) as fast:
            assert inflate_with_zlib_ng(fast, only_if_faster=False), path.name
            fast.load()
            assert (fast.mode, fast.size, fast.tobytes(), fast.info.get("transparency")) == (
                expected
            ), path.name


def test_opening_a_png_uses_it_where_pillows_zlib_is_the_slow_one(images_dir: Path) -> None:
    path = images_dir / "shot.png"
    screenshot((640, 400)).save(path, "PNG")
    with open_image(str(path)) as im:
        takes_over = "load_read" in vars(im)  # this image's own reader, not PngImageFile's
        im.load()
    assert takes_over is pillow_inflates_slowly()


def _damage(path: Path, how: str) -> Path:
    chunks = _chunks(path.read_bytes())
    stream = b"".join(body for kind, body in chunks if kind == b"IDAT")
    if how == "corrupt":  # garbage in the middle of the deflate stream
        mid = len(stream) // 2
        stream = stream[:mid] + bytes(b ^ 0x5A for b in stream[mid : mid + 64]) + stream[mid + 64 :]
    else:  # the stream stops half way, the file still ends properly
        stream = stream[: len(stream) // 2]
    rest = [(kind, body) for kind, body in chunks if kind not in (b"IDAT", b"IEND")]
    path.write_bytes(_png([*rest, (b"IDAT", stream), (b"IEND", b"")]))
    return path


@pytest.mark.parametrize("how", ["corrupt", "cut"])
def test_damaged_pixel_data_is_refused_with_a_reason(images_dir: Path, how: str) -> None:
    path = images_dir / f"{how}.png"
    photo(400, 300, seed=2).save(path, "PNG")
    _damage(path, how)
    with pytest.raises(ImageRejected) as caught:
        prepare(path)
    assert "damaged" in caught.value.reason
    assert caught.value.next_step
