"""Encoding into an anonymous file instead of memory, so Pillow's encoder runs without Python's
lock (the GIL).

Pillow encodes into a real file with the GIL released, but into a ``BytesIO`` in one call that
holds it: a 12 MP photo's Standard JPEG (Huffman-optimised) held it for 25-40 ms, and every
other thread of the process waited that long; in the window that was a frozen frame each time
the preview pane prepared the selected photo, and in a batch the other threads' decodes waited.
Written to an anonymous in-memory file (Linux ``memfd``; elsewhere a temporary file that is
removed at once), the same encode held it at most 8 ms at a time. The bytes are the same.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import IO


def _anonymous_file() -> IO[bytes]:
    """A readable and writable file with no name: in memory where the system allows."""
    memfd_create = getattr(os, "memfd_create", None)
    if memfd_create is not None:
        try:
            fd = memfd_create("maxupload-encode", getattr(os, "MFD_CLOEXEC", 0))
        except OSError:  # a kernel without memfd
            pass
        else:
            return open(fd, "w+b")
    return tempfile.TemporaryFile()


def encoded(write: Callable[[IO[bytes]], object]) -> bytes:
    """The bytes ``write`` writes to a file (``write(fh)``, for example ``im.save(fh, "JPEG")``)."""
    with _anonymous_file() as fh:
        write(fh)
        fh.flush()
        fh.seek(0)
        return fh.read()
