"""Where large image buffers come from: two policies, one for the window, one for commands.

**The window: straight from the OS** (``keep_large_blocks_on_mmap``), so allocating a buffer
never holds the GIL for long. Pillow asks for a new image's pixel memory zeroed (``calloc``), in
blocks of up to 16 MB, while it holds the GIL. glibc serves such blocks with fresh ``mmap``
pages (zeroed lazily by the kernel, later, while the decoder runs without the GIL), until the
first one is freed: then it raises its threshold and serves the next ones from a worker thread's
heap, which it must clear itself. A 12 MP photo's buffer then takes 30-40 ms to allocate with
the GIL held, and the window's GUI thread waits that long (measured with
tests/benchmarks/bench_gui.py --why). Fixing the threshold keeps every large block on ``mmap``.

**A command: kept for the next photo** (``keep_freed_memory``). Preparing one 12 MP photo
allocates and frees some 60 MB (decoded pixels, the resampled and the turned image, the label
scan's grey copy, the encoded copy). Handed back to the OS at once (``munmap``, or ``madvise``
in a thread's heap), every page of the next photo is a fresh, zeroed page fault: about 16 % of a
batch's CPU went to the kernel. With both thresholds raised, freed blocks stay in the process
and are reused: ``maxupload upload`` of 12 photos took 0.29 s of system CPU instead of 0.57 s
and 0.90x the wall time, for 12 MB more peak memory. No window waits on a command's GIL, so
zeroing reused memory costs nothing there.

Elsewhere than glibc (macOS, Windows, musl) neither changes anything.
"""

from __future__ import annotations

import ctypes
import sys

#: glibc's ``mallopt`` parameter numbers (malloc.h: M_TRIM_THRESHOLD, M_MMAP_THRESHOLD).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: The window: blocks of this size or more come from ``mmap``: image buffers, never small ones.
THRESHOLD = 1 << 20
#: A command: blocks up to glibc's largest mmap threshold (64-bit) come from the heap...
HEAP_THRESHOLD = 32 << 20
#: ... and free memory at the top of a heap goes back to the OS only beyond this much.
TRIM_THRESHOLD = 256 << 20


def _mallopt(*settings: tuple[int, int]) -> bool:
    """Set glibc's ``mallopt`` parameters in order; True when every one was taken."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return all(bool(mallopt(param, value)) for param, value in settings)


def keep_large_blocks_on_mmap(threshold: int = THRESHOLD) -> bool:
    """The window's policy: fix glibc's mmap threshold at ``threshold`` bytes; True when set
    (Linux with glibc)."""
    return _mallopt((M_MMAP_THRESHOLD, threshold))


def keep_freed_memory() -> bool:
    """A command's policy: freed image buffers stay for the next photo; True when set."""
    return _mallopt((M_MMAP_THRESHOLD, HEAP_THRESHOLD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
