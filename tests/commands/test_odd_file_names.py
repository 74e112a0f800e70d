"""File names that are not UTF-8 (bytes on Linux) or hold control characters: stored losslessly,
printed safely on one line, JSON stays valid UTF-8, and the rest of the batch goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.queue.filenames import for_storage, from_storage, shown
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.logsetup import shutdown_logging, uninstall_cli_redaction
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import upload_args
from tests.plugins.images import photo, write_jpeg

ODD = b"odd-\xff\xfe-\x1b[31m-line\nbreak.jpg"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    write_jpeg(root / "good-1.jpg", photo(200, 150, seed=1))
    write_jpeg(root / "good-2.jpg", photo(200, 150, seed=2))
    odd = Path(os.fsdecode(os.fsencode(root) + b"/" + ODD))
    write_jpeg(odd, photo(200, 150, seed=3))
    return root


def test_names_round_trip_and_show_safely() -> None:
    name = os.fsdecode(ODD)
    assert from_storage(for_storage(name)) == name
    assert for_storage("plain é.jpg") == "plain é.jpg"
    text = shown(name)
    text.encode("utf-8")  # printable as UTF-8
    assert "\n" not in text and "\x1b" not in text
    assert text == "odd-\\xff\\xfe-\\x1b[31m-line\\nbreak.jpg"


def test_upload_sends_every_photo_and_prints_valid_json(
    sandbox: SandboxServer,
    folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    argv = [*upload_args(sandbox, folder), "--json", "--yes"]
    try:
        code = main(argv)
        sys.stdout.flush()
    finally:
        uninstall_cli_redaction()
        shutdown_logging()
    out, err = capfdbinary.readouterr()
    assert code == 0, err.decode("utf-8", "replace")
    records = [json.loads(line) for line in out.decode("utf-8").splitlines()]
    assert len(records) == 3 and all(r["verified"] for r in records)
    assert any(r["file"].endswith("odd-\\xff\\xfe-\\x1b[31m-line\\nbreak.jpg") for r in records)
    assert len(sandbox.uploads()) == 3
    with QueueStore() as store:
        items = store.items()
    assert {i.state for i in items} == {ItemState.VERIFIED}
    odd = next(i for i in items if os.fsencode(i.source_path).endswith(ODD))
    assert Path(odd.source_path).is_file()  # the name survived the queue file byte for byte


def test_prepare_json_is_valid_utf8(folder: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "maxupload",
            "prepare",
            "--json",
            "--out",
            str(tmp_path / "out"),
            str(folder),
        ],
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.decode("utf-8").splitlines()  # strict: raises on invalid UTF-8
    assert len(lines) == 3
    files = [json.loads(line)["file"] for line in lines]
    assert any("\\xff\\xfe-\\x1b[31m-line\\nbreak" in f for f in files)
