"""An animated PNG whose main image's data chunk is cut short (its length says more than
follows) looks whole to intake (right header, ends with IEND); the truncation only surfaces as an
``OSError`` when the pixels are decoded. ``prepare`` and ``upload`` answer it per file with a
reason and a next step, and the rest of the batch goes on."""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import pytest

from maxupload.core.intake import scan
from maxupload.sandbox import SandboxServer
from tests.commands.test_no_tracebacks import run
from tests.commands.test_upload import upload_args
from tests.plugins.images import photo, write_jpeg


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def apng_with_cut_data_chunk(path: Path) -> Path:
    """A 3-frame APNG: signature, IHDR, acTL, fcTL, then IDAT with only half of its declared
    bytes, then IEND."""
    frames = [photo(160, 120, seed=s) for s in range(3)]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:], duration=100)
    data = buf.getvalue()
    pos, out = 8, data[:8]
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            out += data[pos : pos + 8 + length // 2] + _chunk(b"IEND", b"")
            break
        out += data[pos : pos + 12 + length]
        pos += 12 + length
    path.write_bytes(out)
    return path


@pytest.fixture
def visit(tmp_path: Path) -> Path:
    folder = tmp_path / "visit"
    folder.mkdir()
    apng_with_cut_data_chunk(folder / "a-wound.png")
    write_jpeg(folder / "b-photo.jpg", photo(200, 150, seed=4))
    return folder


def test_intake_accepts_it(visit: Path) -> None:
    """The damage is not visible to the intake checks: only decoding finds it."""
    result = scan([visit / "a-wound.png"])
    assert [a.path.name for a in result.accepted] == ["a-wound.png"]


def test_prepare_answers_per_file_and_goes_on(
    visit: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = run(["prepare", "--json", "--out", str(tmp_path / "out"), str(visit)], capsys)
    records = {Path(r["file"]).name: r for r in map(json.loads, out.splitlines())}
    bad = records["a-wound.png"]
    assert bad["status"] == "rejected"
    assert "damaged" in bad["reason"] and bad["next_step"]
    assert records["b-photo.jpg"]["status"] == "prepared"
    assert code == 1


def test_upload_answers_per_file_and_sends_the_rest(
    visit: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    code, out, _err = run([*upload_args(sandbox, visit), "--yes", "--json"], capsys)
    records = {Path(r["file"]).name: r for r in map(json.loads, out.splitlines())}
    bad = records["a-wound.png"]
    assert bad["state"] in ("failed", "rejected"), bad
    assert "damaged" in bad["message"] and bad["nextStep"]
    assert "Unexpected" not in bad["message"]
    assert records["b-photo.jpg"]["state"] == "verified"
    assert len(sandbox.uploads()) == 1
    assert code == 1
