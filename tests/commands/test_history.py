"""The upload history: a mixed batch through ``maxupload upload``, then search and export."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import stat
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.history.store import HistoryStore, history_path_for
from maxupload.core.queue.store import default_queue_path
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import upload_args
from tests.plugins.images import photo, write_jpeg


@pytest.fixture
def batch(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> list[Path]:
    """Three photos sent with one worker; the first upload fails with 502 (EHR sync failed)."""
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    folder = tmp_path / "card"
    folder.mkdir()
    photos = [write_jpeg(folder / f"p{n}.jpg", photo(160, 120, seed=n)) for n in range(3)]
    sandbox.set_faults(ehr_fail=1)
    code = main([*upload_args(sandbox, folder), "--workers", "1", "--yes"])
    out = capsys.readouterr().out
    assert code == 1, out  # one photo waits for a decision
    return photos


def history_csv(capsys: pytest.CaptureFixture[str], *flags: str) -> list[dict[str, str]]:
    assert main(["history", "--csv", *flags]) == 0
    return list(csv.DictReader(io.StringIO(capsys.readouterr().out)))


def test_csv_after_a_mixed_batch_lists_every_photo_with_status_and_hashes(
    batch: list[Path], sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = history_csv(capsys, "--since", date.today().isoformat())
    assert sorted(r["source_path"] for r in rows) == sorted(str(p) for p in batch)
    stored = {u["id"]: u for u in sandbox.uploads()}
    by_status: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_status.setdefault(row["status"], []).append(row)
        original = Path(row["source_path"]).read_bytes()
        assert row["sha256_original"] == hashlib.sha256(original).hexdigest()
        assert row["size_original"] == str(len(original))
        assert len(row["sha256_sent"]) == 64 and int(row["size_sent"]) > 0
        assert row["note_id"] == sandbox.demo.open_note_id
        assert row["provider_id"] == sandbox.demo.provider_id
        assert row["organization"] == sandbox.demo.org_id
        assert row["patient"] and row["mrn"] and row["visit"]
        assert row["os_user"]
        assert "queued" in row["status_changes"]
    assert len(by_status["verified"]) == 2
    assert len(by_status["needs_decision"]) == 1
    for row in by_status["verified"]:
        # What was sent is what the server stored, byte for byte.
        sent = sandbox.image_bytes(row["image_id"])
        assert sent is not None and row["sha256_sent"] == hashlib.sha256(sent).hexdigest()
        assert row["size_sent"] == str(len(sent))
        assert row["verification"].startswith("verified")
        assert "uploading" in row["status_changes"] and "verified" in row["status_changes"]
    [failed] = by_status["needs_decision"]
    assert failed["image_id"] == "" and failed["verification"] == ""
    assert "EHR" in failed["problem"]
    # The 502 answer's trace id is on file for support.
    assert failed["trace_ids"] in {u["traceId"] for u in stored.values()}


def test_history_outlives_clear_done_and_searches(
    batch: list[Path], sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["queue", "clear", "--done"]) == 0
    capsys.readouterr()
    assert len(history_csv(capsys)) == 3
    mrn = history_csv(capsys)[0]["mrn"]
    name = history_csv(capsys)[0]["patient"]
    assert len(history_csv(capsys, "--mrn", mrn)) == 3
    assert history_csv(capsys, "--mrn", "no-such-mrn") == []
    assert len(history_csv(capsys, "--patient", name.split(",")[0].lower())) == 3
    assert len(history_csv(capsys, "--note", sandbox.demo.open_note_id)) == 3
    assert history_csv(capsys, "--note", "nte_other") == []
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    yesterday = (date.today() - timedelta(days=1)).isoformat()
    assert history_csv(capsys, "--since", tomorrow) == []
    assert len(history_csv(capsys, "--since", yesterday, "--until", date.today().isoformat())) == 3
    assert history_csv(capsys, "--until", yesterday) == []
    # JSON holds the same photos, with the status changes as a list.
    assert main(["history", "--json", "--mrn", mrn]) == 0
    records = json.loads(capsys.readouterr().out)
    assert len(records) == 3
    assert all(isinstance(r["status_changes"], list) for r in records)
    # The plain listing names each photo once.
    assert main(["history"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


def test_history_file_is_owner_only_and_holds_nothing_secret(
    batch: list[Path], sandbox: SandboxServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = history_path_for(default_queue_path())
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    raw = b"".join(p.read_bytes() for p in path.parent.glob("history.sqlite3*"))
    assert sandbox.demo.api_key.encode() not in raw
    assert b"X-Amz-Signature" not in raw and b"signature=" not in raw
    out_file = tmp_path / "audit.csv"
    assert main(["history", "--csv", "--out", str(out_file)]) == 0
    assert stat.S_IMODE(out_file.stat().st_mode) == 0o600
    assert len(list(csv.DictReader(out_file.open(encoding="utf-8")))) == 3


def test_retention_removes_old_rows(batch: list[Path]) -> None:
    with HistoryStore(history_path_for(default_queue_path())) as history:
        assert len(history.search()) == 3
        assert history.purge(365) == 0
        assert history.purge(1, now=time.time() + 2 * 86400) == 3
        assert history.search() == []


def test_bad_dates_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["history", "--since", "yesterday"])
    assert "not a date" in capsys.readouterr().err
    assert main(["history", "--since", "2026-11-02", "--until", "2026-11-01"]) == 2


def test_a_damaged_history_never_stops_an_upload(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    xdg_trash: Path,
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    path = history_path_for(default_queue_path())
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a database" * 100)
    image = write_jpeg(tmp_path / "a.jpg", photo(120, 90, seed=3))
    code = main([*upload_args(sandbox, image), "--yes", "--trash-originals-when-verified"])
    assert code == 0, capsys.readouterr()
    assert len(sandbox.uploads()) == 1
    assert image.exists()  # with no record of the move, the original is not moved
    capsys.readouterr()
    assert main(["history", "--csv"]) == 1
    err = capsys.readouterr().err
    assert str(path) in err and "damaged" in err
