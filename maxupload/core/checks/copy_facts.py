"""Photo facts read from the decode that prepares the photo, several photos at once.

When the preset is known before the photos are checked (``maxupload upload``), the label scan
need not decode the photo a second time: preparing it (which the upload does anyway, into
``PreparedCopies``, where the engine then finds it made) decodes it, and the scan's greyscale
working copy is taken from those decoded pixels, before any resample, so the bars are exactly
as sharp as in a decode of its own (a resample to the preset's size would soften them: a
Code128 spanning 30 % of a 12 MP frame was lost on the 2000 px prepared copy). A preset
smaller than the scan needs (``small``) decodes at a smaller DCT scale, and a copy made earlier
is not decoded again: those photos are scanned on a working copy of their own, as before.

Only the decode is shared: each photo is queued once its own checks pass (``core.batch_checks``).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from PIL import Image

from maxupload.core.checks import labels
from maxupload.core.checks import photo as checks
from maxupload.core.checks.labels import working_copy
from maxupload.core.checks.photo import PhotoFacts
from maxupload.core.errors import MaxUploadError
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.imaging.presets import Preset, get_preset
from maxupload.core.system.worker_priority import worker_started

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def scans_prepared_copy(preset: Preset | str) -> bool:
    """True when preparing with ``preset`` decodes at least as many pixels as the label scan's
    own working copy has (long edge ``labels.LABEL_EDGE``): a JPEG's DCT scaling never decodes
    below the preset's size, and other formats decode at full size."""
    long_edge = get_preset(preset).long_edge
    return long_edge is None or long_edge >= labels.LABEL_EDGE


def facts_from_copies(copies: PreparedCopies, preset: Preset | str) -> Callable[[Path], PhotoFacts]:
    """A facts reader that prepares each photo with ``preset`` into ``copies`` and scans the
    same decode for labels (the photo is decoded once, for both)."""
    chosen = get_preset(preset)
    if not scans_prepared_copy(chosen):
        return checks.read_facts

    def read(path: Path) -> PhotoFacts:
        grey: list[Image.Image] = []
        try:
            copies.get_with_view(path, chosen, decoded=lambda im: grey.append(working_copy(im)))
        except (MaxUploadError, OSError, ValueError, MemoryError) as exc:
            # The upload reports why this photo cannot be prepared; the checks read what they can.
            log.debug("preparing for the checks failed (%s); reading the photo itself", exc)
        if not grey:  # not decoded now (prepared earlier, or unreadable): a decode of its own
            return checks.read_facts(path)
        return checks.read_facts(path, image=grey[0])

    return read


def map_parallel(func: Callable[[T], R], items: Sequence[T], workers: int | None = None) -> list[R]:
    """``[func(i) for i in items]`` on up to one thread per core (Pillow and the barcode scan
    release Python's lock), results in the order given; the first exception is raised, and
    items not yet started are then dropped (Ctrl+C does not wait for the whole list)."""
    count = min(len(items), max(1, workers or os.cpu_count() or 1))
    if count <= 1:
        return [func(i) for i in items]
    pool = checks_pool(count)
    try:
        return list(pool.map(func, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def checks_pool(count: int) -> ThreadPoolExecutor:
    """The threads the photo checks run on (each yields to the window's thread, if any)."""
    return ThreadPoolExecutor(
        count, thread_name_prefix="maxupload-checks", initializer=worker_started
    )
