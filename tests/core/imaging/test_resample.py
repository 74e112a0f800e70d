"""Resampling a PNG (no reduced decode: every shrink is a resample) keeps the detail of a
full-quality resize; the filter follows the source kind and the factor left after whole-block
reduction."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from maxupload.core.imaging import libvips
from maxupload.core.imaging.prepare import prepare
from maxupload.core.imaging.resample import (
    SHRINK_FILTER,
    TRIM_FILTER,
    filter_for,
    remaining_factor,
    shrink,
)
from maxupload.core.imaging.thumbnails import preview
from tests.plugins.images import photo, psnr, screenshot, worst_preset_psnr


def test_photos_take_the_triangle_filter_and_a_screenshots_real_shrink_bicubic() -> None:
    # 4032 -> 2016 (reduce by 2) -> 2000: a trim; 8064 -> 2000: reduce by 4, then a trim.
    assert remaining_factor((4032, 3024), (2000, 1500)) == pytest.approx(1.008)
    assert remaining_factor((2880, 1800), (2000, 1250)) == pytest.approx(1.44)
    for graphics in (False, True):
        assert filter_for((4032, 3024), (2000, 1500), graphics=graphics) is TRIM_FILTER
        assert filter_for((8064, 6048), (2000, 1500), graphics=graphics) is TRIM_FILTER
    # A real shrink: bicubic for a screenshot or document, the triangle filter for a photo.
    assert filter_for((2880, 1800), (2000, 1250), graphics=True) is SHRINK_FILTER
    assert filter_for((5000, 3000), (2000, 1200), graphics=True) is SHRINK_FILTER  # 2, then 1.25
    assert filter_for((4032, 3024), (3000, 2250)) is TRIM_FILTER


@pytest.mark.parametrize(
    ("name", "size"),
    [("screenshot", (2880, 1800)), ("photo", (4032, 3024))],
)
def test_pngs_sent_match_a_full_quality_resize(
    images_dir: Path, name: str, size: tuple[int, int]
) -> None:
    """A PNG has no reduced decode: every shrink is a resample. Standard and High stay > 40 dB
    PSNR from a full decode + LANCZOS on a screenshot's text and edges and on a photo."""
    source = screenshot(size) if name == "screenshot" else photo(*size, seed=3)
    path = images_dir / f"{name}.png"
    source.save(path, compress_level=1)
    assert worst_preset_psnr(path, source, ("standard", "high")) > 40.0, name


def test_the_sent_screenshot_is_what_the_preview_shows(images_dir: Path) -> None:
    """``prepare`` sends the pixels the PSNR test measures (only JPEG's loss in between)."""
    path = images_dir / "shot.png"
    screenshot((2880, 1800)).save(path, compress_level=1)
    prepared = prepare(path, "standard")
    with Image.open(io.BytesIO(prepared.data)) as sent:
        assert sent.size == (2000, 1250)
        assert psnr(sent, preview(path, 2000)) > 38.0


@pytest.mark.parametrize(
    ("mode", "size", "target", "graphics"),
    [
        ("RGB", (4032, 3024), (3000, 2250), False),  # High from a 12 MP photo's full decode
        ("L", (3024, 4032), (2250, 3000), False),
        ("RGB", (3600, 2250), (2000, 1250), True),  # a screenshot's real shrink: bicubic
    ],
)
def test_libvips_runs_the_same_filter_as_pillow(
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
    size: tuple[int, int],
    target: tuple[int, int],
    graphics: bool,
) -> None:
    """A large real shrink with no whole factor left runs in libvips: the same filter, the
    same size and mode, pixels within rounding of Pillow's own."""
    source = (screenshot(size) if graphics else photo(*size, seed=9)).convert(mode)
    with monkeypatch.context() as patched:
        patched.setattr(libvips, "ENABLED", False)
        by_pillow = shrink(source, target, graphics=graphics)
    by_libvips = shrink(source, target, graphics=graphics)
    assert (by_libvips.size, by_libvips.mode) == (by_pillow.size, by_pillow.mode) == (target, mode)
    assert by_libvips.tobytes() != by_pillow.tobytes()  # libvips did run
    assert psnr(by_libvips, by_pillow) > 45.0


def test_thumbnails_and_whole_factors_stay_pillows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below 6 MP (the 1024 px view of a 2000 px copy), where ``reduce`` still has a whole
    factor to take, and for a trim (a 12 MP photo's half-scale decode to 2000 px), Pillow
    resamples exactly as without libvips."""
    copy = photo(2000, 1500, seed=3)
    big = photo(4032, 3024, seed=3)
    half = photo(2016, 1512, seed=3)
    cases = ((copy, (1024, 768)), (big, (1024, 768)), (half, (2000, 1500)))
    for source, target in cases:
        with monkeypatch.context() as patched:
            patched.setattr(libvips, "ENABLED", False)
            by_pillow = shrink(source, target)
        assert shrink(source, target).tobytes() == by_pillow.tobytes()
