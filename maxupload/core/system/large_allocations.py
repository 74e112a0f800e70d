"""Large image buffers straight from the OS, so allocating one never holds the GIL for long.

Pillow asks for a new image's pixel memory zeroed (``calloc``), in blocks of up to 16 MB, while
it holds the GIL. glibc serves such blocks with fresh ``mmap`` pages (zeroed lazily by the
kernel, later, while the decoder runs without the GIL), until the first one is freed: then it
raises its threshold and serves the next ones from a worker thread's heap, which it must clear
itself. A 12 MP photo's buffer then takes 30-40 ms to allocate with the GIL held, and the
window's GUI thread waits that long (measured with tests/benchmarks/bench_gui.py --why).
Fixing the threshold keeps every large block on ``mmap``.
"""

from __future__ import annotations

import ctypes
import sys

#: glibc's ``mallopt`` parameter number for the mmap threshold (malloc.h: M_MMAP_THRESHOLD).
M_MMAP_THRESHOLD = -3
#: Blocks of this size or more come from ``mmap``: image buffers, never small objects.
THRESHOLD = 1 << 20


def keep_large_blocks_on_mmap(threshold: int = THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``threshold`` bytes; True when set (Linux with glibc)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))
