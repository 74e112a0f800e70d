"""A real, size-limited folder (tmpfs) for disk-full tests; skipped where mounting is refused."""

from __future__ import annotations

import errno
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


class SmallDisk:
    """A tmpfs of a few hundred KB that the test fills and frees."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.filler = root / "filler.bin"

    def fill(self) -> None:
        """Write until the disk refuses (ENOSPC), so the next byte anyone writes fails."""
        block = b"\0" * 4096
        with open(self.filler, "ab", buffering=0) as handle:
            try:
                while True:
                    handle.write(block)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
        # The last partial block may have left room for a few bytes: take those too.
        with open(self.root / "filler-tail.bin", "ab", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0")
            except OSError:
                pass

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)
        (self.root / "filler-tail.bin").unlink(missing_ok=True)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[SmallDisk]:
    root = tmp_path / "small-disk"
    root.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m,mode=0700", "tmpfs", str(root)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield SmallDisk(root)
    finally:
        subprocess.run(["umount", "-l", str(root)], capture_output=True, check=False)
