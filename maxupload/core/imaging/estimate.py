"""Size estimates: about how many bytes a preset will send, without preparing the photo."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from maxupload.core.imaging.colour import _srgb_bytes
from maxupload.core.imaging.formats import DEFAULT_MAX_PIXELS, kind_of, open_image
from maxupload.core.imaging.prepare import (
    _encode,
    _has_transparency,
    _lets_go_of_its_file,
    _load_pixels,
    _to_working_mode,
    prepare,
    target_size,
)
from maxupload.core.imaging.presets import DEFAULT_PRESET, Preset, get_preset
from maxupload.core.imaging.resample import shrink

#: ``estimate_size`` encodes a grid of ESTIMATE_GRID x ESTIMATE_GRID tiles of ESTIMATE_TILE px.
ESTIMATE_TILE = 256
ESTIMATE_GRID = 3


def estimate_size(
    path: str | Path,
    preset: Preset | str = DEFAULT_PRESET,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> int:
    """About how many bytes ``prepare`` will produce, without the full resize and encode.

    Decodes at the scale ``prepare`` would use (DCT scaling for JPEG), then resizes and encodes
    only a 3x3 grid of 256 px tiles at the output scale and extrapolates by pixel count. Small
    outputs (long edge 768 px or less) are simply prepared. Accuracy: see README (imaging).
    """
    chosen = get_preset(preset)
    work: Image.Image | None = None  # stays None for small outputs, which are simply prepared
    icc: object = b""
    im = open_image(str(path), max_pixels=max_pixels)  # opened once: header, then pixels
    kept = False  # the decoded image itself is worked on (nothing to convert)
    try:
        out_w, out_h = target_size(im.width, im.height, chosen.long_edge)
        if max(out_w, out_h) > 3 * ESTIMATE_TILE:
            if kind_of(im) in ("jpeg", "mpo"):
                im.draft(im.mode, (out_w, out_h))
            _load_pixels(im)
            icc = im.info.get("icc_profile") or b""
            work = _to_working_mode(im, [])
            if work is im:
                kept = _lets_go_of_its_file(im)
                if not kept:
                    work = im.copy()
    finally:
        if not kept:
            im.close()
    if work is None:
        return prepare(path, chosen, max_pixels=max_pixels).size
    if work.mode == "CMYK":
        work = work.convert("RGB")
        icc = _srgb_bytes() if icc else b""
    png = _has_transparency(work) and not chosen.force_jpeg
    if not png and work.mode in ("RGBA", "LA"):
        work = work.convert("RGB" if work.mode == "RGBA" else "L")
    fmt = "PNG" if png else "JPEG"
    scale = out_w / work.width
    tile_src = max(1, min(work.width, work.height, round(ESTIMATE_TILE / scale)))
    header_bytes = len(_encode(Image.new(work.mode, (16, 16)), fmt, chosen.quality, None))
    tile_bytes = 0
    tile_pixels = 0
    for gy in range(ESTIMATE_GRID):
        for gx in range(ESTIMATE_GRID):
            cx = (2 * gx + 1) * work.width // (2 * ESTIMATE_GRID)
            cy = (2 * gy + 1) * work.height // (2 * ESTIMATE_GRID)
            left = min(max(0, cx - tile_src // 2), work.width - tile_src)
            top = min(max(0, cy - tile_src // 2), work.height - tile_src)
            # Keep crops on the 16 px JPEG block grid: at full scale that matches the source's
            # own blocks, and re-encoding misaligned blocks would cost more bytes than prepare.
            left, top = left - left % 16, top - top % 16
            crop = work.crop((left, top, left + tile_src, top + tile_src))
            side = max(16, round(tile_src * scale))
            tile = shrink(crop, (side, side))
            tile_bytes += len(_encode(tile, fmt, chosen.quality, None)) - header_bytes
            tile_pixels += side * side
    estimate = tile_bytes / tile_pixels * out_w * out_h
    return int(estimate) + header_bytes + (len(icc) if isinstance(icc, bytes) else 0)
