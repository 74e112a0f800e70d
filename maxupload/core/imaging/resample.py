"""Shrinking decoded pixels to the sent size, with the filter chosen by the factor left to do.

``reduce`` first averages whole blocks (``reducing_gap`` 1.0: every whole factor; cheap). What is
left is below 2. After a JPEG's DCT scaling or a whole-block reduce it is usually a trim of a few
pixels (4032 -> 2016 -> 2000 px), where the triangle filter (BILINEAR, widened by Pillow to the
scale) measures 46-50 dB PSNR against a full decode + LANCZOS at 40-60 % of LANCZOS's cost. A
real shrink (a 2880 px PNG screenshot to 2000 px, any 4032 px photo to 3000 px) is where the
triangle filter blurs: 36.4-36.8 dB on a screenshot's text and edges, against 44.0-44.5 dB for
the bicubic filter, which costs about 10 % more there. Measurements: README, "Photo preparation".
"""

from __future__ import annotations

from PIL import Image

#: Whole factors are done by ``Image.reduce`` (a box average) before the filter runs.
REDUCING_GAP = 1.0
#: A remaining factor up to this is a trim after DCT scaling or ``reduce``: the triangle filter.
TRIM_LIMIT = 1.1
TRIM_FILTER = Image.Resampling.BILINEAR
#: Above it the resample is a real shrink: the bicubic filter keeps edges and text sharp.
SHRINK_FILTER = Image.Resampling.BICUBIC


def remaining_factor(source: tuple[int, int], size: tuple[int, int]) -> float:
    """The scale the filter still covers once ``reduce`` has taken every whole factor."""
    left = 1.0
    for have, want in zip(source, size, strict=True):
        scale = have / want
        whole = max(1, int(scale / REDUCING_GAP))
        left = max(left, scale / whole)
    return left


def filter_for(source: tuple[int, int], size: tuple[int, int]) -> Image.Resampling:
    """The resample filter for shrinking ``source`` to ``size`` (see the module's note)."""
    return TRIM_FILTER if remaining_factor(source, size) <= TRIM_LIMIT else SHRINK_FILTER


def shrink(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``im`` at ``size`` (the same object when it already is); alpha is resampled
    premultiplied so transparent pixels do not bleed dark fringes."""
    if im.size == size:
        return im
    chosen = filter_for(im.size, size)
    if im.mode in ("RGBA", "LA"):
        pre = "RGBa" if im.mode == "RGBA" else "La"
        out = im.convert(pre).resize(size, chosen, reducing_gap=REDUCING_GAP)
        return out.convert(im.mode)
    return im.resize(size, chosen, reducing_gap=REDUCING_GAP)
