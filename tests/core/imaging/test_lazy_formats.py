"""Opening a JPEG or PNG loads only Pillow's first plugins; HEIF support (pillow-heif and every
Pillow plugin, about 50 ms to load) comes with the first file that needs it. A fresh
interpreter each, so nothing loaded by other tests hides the difference."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.plugins.images import photo, write_heic, write_jpeg

SCRIPT = """
import sys
from maxupload.core.intake import scan
result = scan(sys.argv[1:])
print(len(result.unique), "pillow_heif" in sys.modules)
"""


def intake_in_a_fresh_process(*paths: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", SCRIPT, *map(str, paths)],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_jpegs_do_not_load_heif_support(tmp_path: Path) -> None:
    jpegs = [write_jpeg(tmp_path / f"{n}.jpg", photo(320, 240, seed=n)) for n in range(3)]
    assert intake_in_a_fresh_process(*jpegs) == "3 False"


def test_a_heic_among_jpegs_still_opens(tmp_path: Path) -> None:
    jpeg = write_jpeg(tmp_path / "a.jpg", photo(320, 240, seed=1))
    heic = write_heic(tmp_path / "b.HEIC", photo(320, 240, seed=2))
    assert intake_in_a_fresh_process(jpeg, heic) == "2 True"
