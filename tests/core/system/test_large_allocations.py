"""Large image buffers come from mmap in worker threads, also after earlier ones were freed."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from maxupload.core.system.large_allocations import keep_large_blocks_on_mmap

# Run in a fresh interpreter: glibc's threshold is process-wide and moves as memory is freed.
PROBE = textwrap.dedent(
    """
    import ctypes, sys, threading
    from PIL import Image
    from maxupload.core.system.large_allocations import keep_large_blocks_on_mmap

    class MallInfo2(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
            "fsmblks", "uordblks", "fordblks", "keepcost")]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    if sys.argv[1] == "set":
        assert keep_large_blocks_on_mmap()
    grown = []

    def worker():
        for _ in range(3):  # freeing the first buffer is what moves glibc's own threshold
            before = libc.mallinfo2().hblkhd
            im = Image.new("RGB", (2000, 1500))
            grown.append(libc.mallinfo2().hblkhd - before)
            del im

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    print(min(grown))
    """
)


def _last_number(script: str, mode: str) -> int:
    """The number ``script`` prints last, run in a fresh interpreter with ``mode``."""
    out = subprocess.run(
        [sys.executable, "-c", script, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1])


def mmapped_bytes_of_new_buffers(mode: str) -> int:
    return _last_number(PROBE, mode)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_every_photo_buffer_of_a_worker_comes_from_mmap() -> None:
    buffer = 2000 * 1500 * 4  # Pillow keeps RGB as 4 bytes a pixel
    assert mmapped_bytes_of_new_buffers("set") >= buffer


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_without_it_later_buffers_come_from_the_heap() -> None:
    """The cause the setting removes: glibc's moving threshold (zeroed with the GIL held)."""
    assert mmapped_bytes_of_new_buffers("unset") < 2000 * 1500 * 4


def test_it_is_harmless_to_call_again() -> None:
    expected = sys.platform.startswith("linux")
    assert keep_large_blocks_on_mmap() is expected
    assert keep_large_blocks_on_mmap() is expected


# A command's policy: what one photo frees, the next one reuses (no fresh page faults).
CHURN = textwrap.dedent(
    """
    import resource, sys, threading
    from PIL import Image
    from maxupload.core.system.large_allocations import keep_freed_memory

    if sys.argv[1] == "set":
        assert keep_freed_memory()

    def photos():
        for _ in range(10):  # a decoded photo, a copy of its pixels, the turned image
            im = Image.new("RGB", (2016, 1512), None)
            pixels = bytearray(2000 * 1500 * 3)
            turned = im.transpose(Image.Transpose.ROTATE_270)
            del im, pixels, turned

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    worker = threading.Thread(target=photos)
    worker.start()
    worker.join()
    print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    """
)


def page_faults_of_ten_photos(mode: str) -> int:
    return _last_number(CHURN, mode)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator only")
def test_a_command_reuses_what_the_photo_before_freed() -> None:
    """Without it every photo's buffers are fresh pages (about 8,000 faults a photo here)."""
    kept, handed_back = page_faults_of_ten_photos("set"), page_faults_of_ten_photos("unset")
    assert kept * 4 < handed_back, (kept, handed_back)
