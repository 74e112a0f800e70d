"""Shrinking decoded pixels to the sent size, with the filter chosen by the source and the factor.

``reduce`` first averages whole blocks (``reducing_gap`` 1.0: every whole factor; cheap). What is
left is below 2, and a triangle filter (BILINEAR, widened by Pillow to the scale) covers it: on
photos it measures 46-50 dB PSNR against a full decode + LANCZOS, whether the step is a trim after
DCT scaling (4032 -> 2016 -> 2000 px) or a real shrink (4032 -> 3000 px: 48.6 dB), at 40-60 % of
LANCZOS's cost. Screenshots and documents (PNG, GIF, BMP, TIFF) are where it blurs: a 2880 px
screenshot's text and edges to 2000 px measure 36.8 dB, against 44.5 dB for the bicubic filter,
so a real shrink of those sources takes bicubic. Bicubic on photos was measured too: +46 % CPU
for a 12 MP JPEG to 3000 px (432 against 296 ms), 52.4 instead of 48.6 dB; not worth it there.
Plain 8-bit PNGs and a real shrink of a large JPEG are decoded and shrunk by libvips instead,
when it is there (``libvips``). Where Pillow decoded, libvips still runs the chosen filter on a
real shrink of RGB or grey pixels from ``VIPS_MIN_PIXELS`` on, when no whole factor is left for
``reduce`` (High from a 12 MP decode, 4032 -> 3000 px): the same triangle or bicubic filter,
vectorised. Trims (2016 -> 2000 px) stay Pillow's: libvips's was faster alone, but not in a
batch, and cost the memory of a copy in and out.
"""

from __future__ import annotations

from PIL import Image

#: Whole factors are done by ``Image.reduce`` (a box average) before the filter runs.
REDUCING_GAP = 1.0
#: The filter for photos, and for any remaining factor up to TRIM_LIMIT (a trim of a few pixels).
TRIM_LIMIT = 1.1
TRIM_FILTER = Image.Resampling.BILINEAR
#: The filter for a real shrink of a screenshot or document: keeps edges and text sharp.
SHRINK_FILTER = Image.Resampling.BICUBIC
#: Source kinds that hold screenshots and documents more often than camera photos.
GRAPHICS_KINDS = frozenset({"png", "gif", "bmp", "tiff"})
#: libvips decodes or resamples images of this many pixels and more (``libvips``). A 12 MP photo
#: to 3000 px measured 100 ms faster; a 3 MP decode or copy to the 1024 px preview about the
#: same, which did not pay for loading libvips (60 ms of a short command's CPU); thumbnails
#: slower.
VIPS_MIN_PIXELS = 6_000_000
#: libvips's kernel for each filter above: the same triangle, and Catmull-Rom (Pillow's bicubic).
_VIPS_KERNELS = {TRIM_FILTER: "linear", SHRINK_FILTER: "cubic"}


def remaining_factor(source: tuple[int, int], size: tuple[int, int]) -> float:
    """The scale the filter still covers once ``reduce`` has taken every whole factor."""
    left = 1.0
    for have, want in zip(source, size, strict=True):
        scale = have / want
        whole = max(1, int(scale / REDUCING_GAP))
        left = max(left, scale / whole)
    return left


def filter_for(
    source: tuple[int, int], size: tuple[int, int], *, graphics: bool = False
) -> Image.Resampling:
    """The resample filter for shrinking ``source`` to ``size``; ``graphics`` for a screenshot
    or document source (see the module's note)."""
    if graphics and remaining_factor(source, size) > TRIM_LIMIT:
        return SHRINK_FILTER
    return TRIM_FILTER


def shrink(im: Image.Image, size: tuple[int, int], *, graphics: bool = False) -> Image.Image:
    """``im`` at ``size`` (the same object when it already is); ``graphics`` as for
    ``filter_for``. Alpha is resampled premultiplied so transparent pixels keep clean edges."""
    if im.size == size:
        return im
    chosen = filter_for(im.size, size, graphics=graphics)
    if im.mode in ("RGBA", "LA"):
        pre = "RGBa" if im.mode == "RGBA" else "La"
        out = im.convert(pre).resize(size, chosen, reducing_gap=REDUCING_GAP)
        return out.convert(im.mode)
    if _in_libvips(im, size):
        from maxupload.core.imaging import libvips  # loaded with the first large resample

        resampled = libvips.resample(im, size, _VIPS_KERNELS[chosen])
        if resampled is not None:
            return resampled
    return im.resize(size, chosen, reducing_gap=REDUCING_GAP)


def _in_libvips(im: Image.Image, size: tuple[int, int]) -> bool:
    """True where libvips runs the filter: RGB or grey, large, a real shrink (not a trim) with
    no whole factor left for ``reduce``."""
    if im.mode not in ("RGB", "L") or im.width * im.height < VIPS_MIN_PIXELS:
        return False
    if remaining_factor(im.size, size) <= TRIM_LIMIT:
        return False
    return all(have < 2 * want * REDUCING_GAP for have, want in zip(im.size, size, strict=True))
