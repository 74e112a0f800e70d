"""Plain PNGs decoded and shrunk by libvips: the detail of a full-quality resize, clean alpha
edges, Pillow's sizes and modes, every chunk still read (EXIF after the pixels), damaged pixel
data refused, and Pillow doing it all where libvips cannot load."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from maxupload.core.imaging import libvips
from maxupload.core.imaging.formats import ImageRejected, open_image
from maxupload.core.imaging.prepare import Prepared, prepare
from tests.core.imaging.test_png_inflate import _chunks, _damage, _png
from tests.plugins.images import (
    adobe_rgb_icc,
    identifying_exif,
    photo,
    psnr,
    screenshot,
    worst_preset_psnr,
    write_jpeg,
)

_REPO = Path(__file__).resolve().parents[3]


def _sent(prepared: Prepared) -> Image.Image:
    with Image.open(io.BytesIO(prepared.data)) as im:
        im.load()
        return im


def _both_ways(path: Path, preset: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Prepared, ...]:
    """``prepare`` through libvips, then through Pillow alone (the fallback), same file."""
    with monkeypatch.context() as patched:
        patched.setattr(libvips, "ENABLED", True)
        through_vips = prepare(path, preset)
        patched.setattr(libvips, "ENABLED", False)
        through_pillow = prepare(path, preset)
    return through_vips, through_pillow


def _fresh_python(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``script`` run in a new interpreter (nothing loaded by other tests), which must succeed."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=_REPO,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done


def _takes_libvips(path: Path) -> bool:
    with open_image(str(path)) as im:
        return libvips.decodes_png(im)


def test_a_screenshot_shrunk_by_libvips_keeps_the_detail_of_a_full_lanczos(
    images_dir: Path,
) -> None:
    source = screenshot((2880, 1800))
    path = images_dir / "shot.png"
    source.save(path, compress_level=1)
    assert _takes_libvips(path)
    with open_image(str(path)) as im:
        small = libvips.shrink_opened_png(str(path), im, (2000, 1250))
    assert small is not None and small.size == (2000, 1250) and small.mode == "RGB"
    lanczos = source.resize((2000, 1250), Image.Resampling.LANCZOS)
    assert psnr(small, lanczos) > 50.0  # lanczos3 measured 60 dB; Pillow's bicubic 44.5 dB
    assert worst_preset_psnr(path, source, ("standard", "high")) > 40.0


def _rgba_with_an_edge(size: tuple[int, int]) -> Image.Image:
    """Opaque blue on the left; on the right fully transparent pixels whose (invisible) colour
    is red, as screenshot tools often leave it."""
    im = Image.new("RGBA", size, (255, 0, 0, 0))
    im.paste((20, 40, 230, 255), (0, 0, size[0] // 2 + 1, size[1]))
    return im


@pytest.mark.parametrize("enabled", [True, False])
def test_alpha_edges_take_no_colour_from_transparent_pixels(
    images_dir: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    path = images_dir / "edge.png"
    _rgba_with_an_edge((2881, 1201)).save(path)
    assert _takes_libvips(path)
    monkeypatch.setattr(libvips, "ENABLED", enabled)
    prepared = prepare(path, "standard")
    sent = _sent(prepared)
    assert prepared.mime_type == "image/png" and sent.mode == "RGBA"
    seen = {px for px in sent.get_flattened_data() if px[3] > 0}  # type: ignore[union-attr]
    assert any(0 < px[3] < 255 for px in seen)  # the edge is resampled, not cut
    assert all(px[0] <= 25 and px[2] >= 220 for px in seen), "red bled into the edge"


def _variant(mode: str, size: tuple[int, int]) -> Image.Image:
    base = photo(*size, seed=4)
    if mode == "RGBA-opaque":
        return base.convert("RGBA")
    im = base.convert(mode)
    if mode in ("RGBA", "LA"):
        im.putalpha(Image.linear_gradient("L").resize(size))
    return im


@pytest.mark.parametrize(
    ("mode", "size", "libvips_decodes"),
    [
        ("RGB", (2881, 1799), True),
        ("RGB", (1201, 3001), True),
        ("RGBA", (2500, 1667), True),
        ("RGBA-opaque", (2500, 1667), True),
        ("L", (4033, 3025), True),
        ("LA", (2222, 2222), True),
        ("P", (2600, 1400), False),
    ],
)
def test_sizes_and_modes_are_the_ones_pillow_gives(
    images_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    size: tuple[int, int],
    libvips_decodes: bool,
) -> None:
    path = images_dir / f"{mode}.png"
    _variant(mode, size).save(path, compress_level=1)
    assert _takes_libvips(path) is libvips_decodes
    for preset in ("standard", "high"):
        through_vips, through_pillow = _both_ways(path, preset, monkeypatch)
        a, b = _sent(through_vips), _sent(through_pillow)
        assert (through_vips.mime_type, a.size, a.mode) == (
            through_pillow.mime_type,
            b.size,
            b.mode,
        ), (mode, preset)
        assert through_vips.receipt.changes == through_pillow.receipt.changes
        assert psnr(a, b) > 38.0, (mode, preset)


def test_pngs_libvips_would_decode_differently_stay_pillows(images_dir: Path) -> None:
    small = photo(300, 200, seed=5)
    keyed = images_dir / "keyed.png"
    small.save(keyed, transparency=(255, 255, 255))  # a colour key, not an alpha channel
    deep = images_dir / "deep.png"
    small.convert("I;16").save(deep)
    animated = images_dir / "animated.png"
    small.save(animated, save_all=True, append_images=[small.rotate(90)])
    for path in (keyed, deep, animated):
        assert not _takes_libvips(path), path.name


def test_exif_and_text_after_the_pixels_are_still_read(images_dir: Path) -> None:
    """A PNG's EXIF (orientation, GPS) and text may follow its pixel data; Pillow reads them
    though libvips decodes the pixels."""
    path = images_dir / "late.png"
    buf = io.BytesIO()
    photo(2400, 1600, seed=6).save(
        buf, "PNG", exif=identifying_exif(orientation=6), compress_level=1
    )
    chunks = _chunks(buf.getvalue())
    late = [c for c in chunks if c[0] == b"eXIf"] + [(b"tEXt", b"Author\0Dr Example")]
    front = [c for c in chunks if c[0] not in (b"eXIf", b"IEND")]
    path.write_bytes(_png([*front, *late, (b"IEND", b"")]))
    assert _takes_libvips(path)
    prepared = prepare(path, "standard")
    assert (prepared.width, prepared.height) == (1333, 2000)  # upright
    assert "rotated 90° (EXIF orientation 6)" in prepared.receipt.changes
    for item in ("GPS location", "camera serial number", "text notes"):
        assert item in prepared.receipt.removed, item
    assert b"Dr Example" not in prepared.data and b"ExampleCam" not in prepared.data


@pytest.mark.parametrize("how", ["corrupt", "cut"])
def test_damaged_pixel_data_is_refused_by_libvips_too(images_dir: Path, how: str) -> None:
    path = images_dir / f"{how}.png"
    photo(2400, 1600, seed=2).save(path, "PNG", compress_level=1)
    _damage(path, how)
    assert _takes_libvips(path)
    with pytest.raises(ImageRejected) as caught:
        prepare(path)
    assert "damaged" in caught.value.reason
    assert caught.value.next_step


def test_without_libvips_pillow_shrinks_and_says_so_once(images_dir: Path) -> None:
    """Where pyvips cannot be imported (a build without it), PNGs are prepared by Pillow and
    one warning says why."""
    path = images_dir / "shot.png"
    screenshot((2880, 1800)).save(path, compress_level=1)
    script = (
        "import logging, sys\n"
        "sys.modules['pyvips'] = None  # importing it now fails, as where it is missing\n"
        "logging.basicConfig(level=logging.WARNING, format='%(name)s: %(message)s')\n"
        "from maxupload.core.imaging.prepare import prepare\n"
        "for preset in ('standard', 'standard', 'high'):\n"
        "    p = prepare(sys.argv[1], preset)\n"
        "    print(p.width, p.height, p.mime_type)\n"
    )
    done = _fresh_python(script, str(path))
    assert done.stdout.split("\n")[:3] == ["2000 1250 image/jpeg"] * 2 + ["2880 1800 image/jpeg"]
    assert done.stderr.count("libvips is not available") == 1, done.stderr


def test_libvips_loads_with_the_first_large_shrink_not_before(images_dir: Path) -> None:
    """Start-up and thumbnails never load libvips: the window's cold start does not grow."""
    jpeg = write_jpeg(images_dir / "a.jpg", photo(2400, 1800, seed=1))
    png = images_dir / "b.png"
    photo(2400, 1800, seed=2).save(png, compress_level=1)
    script = (
        "import sys\n"
        "from maxupload.core.imaging.prepare import prepare\n"
        "from maxupload.core.imaging.thumbnails import thumbnail\n"
        "print('pyvips' in sys.modules, end=' ')\n"
        "thumbnail(sys.argv[1], 256)\n"
        "print('pyvips' in sys.modules, end=' ')\n"
        "prepare(sys.argv[2])\n"
        "print('pyvips' in sys.modules)\n"
    )
    done = _fresh_python(script, str(jpeg), str(png))
    assert done.stdout.split() == ["False", "False", "True"]


def test_a_wide_gamut_png_is_converted_to_srgb_after_libvips(images_dir: Path) -> None:
    """libvips only decodes and shrinks: the colour profile Pillow read is applied as before."""
    path = images_dir / "wide.png"
    Image.new("RGB", (2400, 1600), (60, 160, 60)).save(path, icc_profile=adobe_rgb_icc())
    assert _takes_libvips(path)
    prepared = prepare(path, "standard")
    assert prepared.receipt.colour == "colour profile Wide Gamut Test RGB converted to sRGB"
    r, g, _b = _sent(prepared).getpixel((500, 500))  # type: ignore[misc]
    assert r < 25 and 150 < g < 175  # unconverted, red would stay near 60
