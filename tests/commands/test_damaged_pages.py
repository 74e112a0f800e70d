"""A TIFF whose second page has no dimensions passes the header checks, and Pillow answers the
page count with a TypeError: the file is rejected with a reason and the rest of the batch goes
on (``prepare`` here; the engine uses the same ``prepare``)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from maxupload.core.imaging.formats import ImageRejected
from maxupload.core.imaging.prepare import prepare
from tests.commands.test_no_tracebacks import run
from tests.plugins.images import photo, write_jpeg


def _ifd(tags: dict[int, int], next_offset: int) -> bytes:
    entries = b"".join(
        struct.pack("<HHII", tag, 3, 1, value) for tag, value in sorted(tags.items())
    )
    return struct.pack("<H", len(tags)) + entries + struct.pack("<I", next_offset)


def two_page_tiff_second_without_size(path: Path) -> Path:
    """A 4x4 grey first page, and a second page with no ImageWidth/ImageLength tags."""
    first = {256: 4, 257: 4, 258: 8, 259: 1, 262: 1, 273: 0, 277: 1, 278: 4, 279: 16}
    second = {258: 8, 259: 1, 262: 1, 273: 0, 277: 1, 279: 16}
    first_len = 2 + 12 * len(first) + 4
    pixels_at = 8 + first_len + 2 + 12 * len(second) + 4
    first[273] = second[273] = pixels_at
    header = b"II*\x00" + struct.pack("<I", 8)
    path.write_bytes(
        header + _ifd(first, 8 + first_len) + _ifd(second, 0) + bytes(range(0, 160, 10))
    )
    return path


def test_prepare_rejects_it_with_a_reason(tmp_path: Path) -> None:
    bad = two_page_tiff_second_without_size(tmp_path / "scan.tif")
    with pytest.raises(ImageRejected, match="later pages or frames"):
        prepare(bad)


def test_the_rest_of_the_batch_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "visit"
    folder.mkdir()
    two_page_tiff_second_without_size(folder / "a-scan.tif")
    write_jpeg(folder / "b-photo.jpg", photo(200, 150, seed=4))
    code, out, _err = run(
        ["prepare", "--json", "--out", str(tmp_path / "out"), str(folder)], capsys
    )
    records = {Path(r["file"]).name: r for r in map(json.loads, out.splitlines())}
    assert records["a-scan.tif"]["status"] == "rejected"
    assert "later pages" in records["a-scan.tif"]["reason"]
    assert records["b-photo.jpg"]["status"] == "prepared"
    assert code == 1
