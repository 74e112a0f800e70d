"""A real shrink of a large JPEG (High from 12 and 48 MP) decoded and shrunk by libvips: more
detail than Pillow's path, Pillow's sizes, modes, orientation and receipt, the metadata still
read and removed, damaged files refused as before, small shrinks and shared decodes Pillow's."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from maxupload.core.imaging import libvips
from maxupload.core.imaging.formats import ImageRejected, open_image
from maxupload.core.imaging.prepare import prepare, prepare_with_view, target_size
from tests.core.imaging.test_libvips import _both_ways, _sent
from tests.plugins.images import (
    marker_image,
    photo,
    psnr,
    write_cmyk_jpeg,
    write_jpeg,
    write_oriented_jpeg,
)


def _takes_libvips(path: Path, preset_edge: int) -> bool:
    """Whether ``prepare`` hands ``path`` to libvips: opened and DCT-scaled as it does."""
    with open_image(str(path)) as im:
        target = target_size(im.width, im.height, preset_edge)
        im.draft(im.mode, target)
        return libvips.shrinks_jpeg(im, target)


@pytest.fixture(scope="module")
def phone_photo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Image.Image]:
    """A 12 MP phone photo (orientation 6, GPS, serials) and its every pixel, upright."""
    upright = photo(3024, 4032, seed=12)
    path = write_oriented_jpeg(
        tmp_path_factory.mktemp("vips-jpeg") / "IMG_0001.JPG", upright, 6, quality=92
    )
    with Image.open(path) as stored:
        full = stored.convert("RGB").transpose(Image.Transpose.ROTATE_270)
    return path, full


def test_high_from_a_phone_photo_keeps_more_detail_than_pillows_path(
    phone_photo: tuple[Path, Image.Image], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, full = phone_photo
    assert _takes_libvips(path, 3000)
    through_vips, through_pillow = _both_ways(path, "high", monkeypatch)
    a, b = _sent(through_vips), _sent(through_pillow)
    assert (a.size, a.mode, through_vips.mime_type) == ((2250, 3000), "RGB", "image/jpeg")
    assert (b.size, b.mode, through_pillow.mime_type) == (a.size, a.mode, "image/jpeg")
    assert through_vips.receipt == through_pillow.receipt  # upright, resized, metadata removed
    assert "rotated 90° (EXIF orientation 6)" in through_vips.receipt.changes
    assert "GPS location" in through_vips.receipt.removed
    assert through_vips.data != through_pillow.data  # two paths, not one taken twice
    exact = full.resize(a.size, Image.Resampling.LANCZOS)
    assert psnr(a, exact) > psnr(b, exact) > 38.0  # the sent pixels, JPEG loss included
    assert b"ExampleCam" not in through_vips.data and b"Exif" not in through_vips.data[:64]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_orientation_is_applied_after_libvips(images_dir: Path, orientation: int) -> None:
    """Each corner of a test card ends where it belongs (libvips shrinks, Pillow orients)."""
    upright = marker_image(3024, 4032) if orientation in (6, 8) else marker_image(4032, 3024)
    path = write_oriented_jpeg(images_dir / f"o{orientation}.jpg", upright, orientation)
    assert _takes_libvips(path, 3000)
    sent = _sent(prepare(path, "high"))
    w, h = sent.size
    corners = [sent.getpixel((w // 10, h // 10)), sent.getpixel((w - w // 10, h // 10))]
    corners += [sent.getpixel((w // 10, h - h // 10)), sent.getpixel((w - w // 10, h - h // 10))]
    expected = [(230, 20, 20), (20, 200, 20), (20, 20, 230), (240, 240, 20)]
    for got, want in zip(corners, expected, strict=True):
        assert max(abs(g - v) for g, v in zip(got, want, strict=True)) < 24, (got, want)  # type: ignore[arg-type]


def test_a_greyscale_photo_stays_grey_and_cmyk_stays_pillows(
    images_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    grey = write_jpeg(images_dir / "grey.jpg", photo(4000, 3000, seed=3).convert("L"))
    assert _takes_libvips(grey, 3000)
    through_vips, through_pillow = _both_ways(grey, "high", monkeypatch)
    a, b = _sent(through_vips), _sent(through_pillow)
    assert (a.mode, a.size) == (b.mode, b.size) == ("L", (3000, 2250))
    assert psnr(a, b) > 38.0
    cmyk = write_cmyk_jpeg(images_dir / "print.jpg", (4000, 3000))
    assert not _takes_libvips(cmyk, 3000)
    assert _sent(prepare(cmyk, "high")).mode == "RGB"


def test_smaller_decodes_trims_and_shared_decodes_stay_pillows(
    images_dir: Path, phone_photo: tuple[Path, Image.Image]
) -> None:
    """Where libvips measured no faster (a 4 MP decode, a trim of a few pixels after DCT
    scaling), and where other work shares Pillow's decode (the photo checks' label scan)."""
    small = write_jpeg(images_dir / "small.jpg", photo(2400, 1800, seed=4))
    assert not _takes_libvips(small, 2000)
    path, _full = phone_photo
    assert not _takes_libvips(path, 2000)  # 4032 -> 2016 by DCT scaling, then a trim to 2000
    assert _takes_libvips(path, 3000)
    seen: list[tuple[int, int]] = []
    prepared, _view = prepare_with_view(path, "high", decoded=lambda im: seen.append(im.size))
    assert seen == [(4032, 3024)]  # every pixel decoded by Pillow, as before
    assert (prepared.width, prepared.height) == (2250, 3000)


def _damaged(path: Path, how: str) -> Path:
    """``path`` with its coded pixels damaged half way; the file still ends properly."""
    data = path.read_bytes()
    mid = len(data) // 2
    if how == "stray start marker":  # libjpeg stops with an error
        data = data[:mid] + b"\xff\xd8" + data[mid + 2 :]
    else:  # flipped bits: libjpeg only warns, and decodes what it can
        data = data[:mid] + bytes(b ^ 0x5A for b in data[mid : mid + 64]) + data[mid + 64 :]
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("how", ["stray start marker", "flipped bits"])
def test_damaged_pixels_get_pillows_answer(
    images_dir: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    """libvips takes only files it decodes without a warning; anything else is decoded by
    Pillow, which refuses or accepts it exactly as without libvips (libvips alone would have
    sent a stray marker's damage)."""
    path = write_jpeg(images_dir / "damaged.jpg", photo(4032, 3024, seed=5), metadata=False)
    assert _takes_libvips(_damaged(path, how), 3000)
    answers = []
    for enabled in (True, False):
        monkeypatch.setattr(libvips, "ENABLED", enabled)
        try:
            prepared = prepare(path, "high")
            answers.append(f"sent {prepared.width}x{prepared.height}")
        except ImageRejected as exc:
            answers.append(exc.reason)
    assert answers[0] == answers[1]
    if how == "stray start marker":
        assert "damaged" in answers[0]


def test_a_48_mp_photo_is_dct_scaled_by_libvips_as_by_pillow(
    images_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """8064x6048 to 3000 px: decoded at half scale (as Pillow's ``draft``), then shrunk."""
    big = photo(2016, 1512, seed=48).resize((8064, 6048), Image.Resampling.BICUBIC)
    path = write_jpeg(images_dir / "48mp.jpg", big)
    assert _takes_libvips(path, 3000)
    through_vips, through_pillow = _both_ways(path, "high", monkeypatch)
    a, b = _sent(through_vips), _sent(through_pillow)
    assert a.size == b.size == (3000, 2250)
    assert psnr(a, b) > 38.0


def test_odd_sizes_libvips_scales_differently_stay_pillows(images_dir: Path) -> None:
    """libjpeg rounds a DCT-scaled odd size up (6049 -> 3025 px at 1/2); libvips's ``shrink``
    rounds it down. Such a photo is left to Pillow, and the size sent is Pillow's."""
    path = write_jpeg(images_dir / "odd.jpg", photo(6049, 4033, seed=7), metadata=False)
    with open_image(str(path)) as im:
        im.draft(im.mode, (2500, 1667))
        assert im.size == (3025, 2017) and libvips.shrinks_jpeg(im, (2500, 1667))
        assert libvips.shrink_opened_jpeg(str(path), im, (6049, 4033), (2500, 1667)) is None
    prepared = prepare(path, "custom:2500:85")
    assert (prepared.width, prepared.height) == (2500, 1667)
