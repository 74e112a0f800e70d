"""Encoding into an anonymous file gives the bytes an in-memory encode gives."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from maxupload.core.imaging import scratch
from tests.plugins.images import photo


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 85, "optimize": True}),
        ("JPEG", {"quality": 92, "progressive": True}),
        ("PNG", {"compress_level": 6}),
    ],
)
@pytest.mark.parametrize("memfd", [True, False], ids=["memfd", "temporary-file"])
def test_same_bytes_as_in_memory(
    fmt: str, options: dict[str, object], memfd: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not memfd:
        monkeypatch.delattr(os, "memfd_create", raising=False)
    elif not hasattr(os, "memfd_create"):
        pytest.skip("no memfd on this system")
    im = photo(640, 480, seed=3)
    expected = io.BytesIO()
    im.save(expected, fmt, **options)
    got = scratch.encoded(lambda fh: im.save(fh, fmt, **options))
    assert got == expected.getvalue()
    with Image.open(io.BytesIO(got)) as back:
        assert back.size == (640, 480)


def test_a_failed_encode_raises_and_leaves_nothing_open() -> None:
    before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    im = photo(64, 48, seed=1)
    with pytest.raises(KeyError):
        scratch.encoded(lambda fh: im.save(fh, "NO-SUCH-FORMAT"))
    if before is not None:
        assert len(os.listdir("/proc/self/fd")) == before
