"""``maxupload upload`` with the product's own photo checks: a photo of another patient's
wristband label never reaches the server. Runs once the label check (zxing-cpp) is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import run_cli, upload_args

label_photos = pytest.importorskip("tests.plugins.label_photos")
pytest.importorskip("zxingcpp")


@pytest.fixture
def key_env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    return sandbox.demo.api_key


def other_patients_label_photo(srv: SandboxServer, folder: Path) -> tuple[Path, str]:
    """A photo of the wristband of a demo patient who is not the open note's patient."""
    demo = srv.demo
    note = next(n for n in demo.notes if n["id"] == demo.open_note_id)
    ours = note["patient"]["id"]
    other = next(p for p in demo.patients if p["id"] != ours and p.get("mrn"))
    folder.mkdir(parents=True, exist_ok=True)
    image = label_photos.scene([label_photos.patient_label(other)])
    return label_photos.save_photo(folder / "label.jpg", image), str(other["mrn"])


def test_another_patients_label_photo_never_reaches_the_server(
    sandbox: SandboxServer, key_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    label, mrn = other_patients_label_photo(sandbox, tmp_path / "batch")
    args = [*upload_args(sandbox, label), "--allow-other-dates", "--json"]
    code, out, _err = run_cli(capsys, args)
    assert code == 1
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["status"] == "blocked" and record["errorCode"] == "label_mismatch"
    assert mrn in record["message"]
    assert sandbox.uploads() == []
