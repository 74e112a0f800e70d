"""``maxupload upload`` through the upload service: the photo checks, and re-running the same
command after a crash. Real sandbox, real queue file, real photos with EXIF written by Pillow.

The photos carry real EXIF capture times and real barcodes (``tests.plugins.photo_checks``),
judged by the product's own checks.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import queue_as_left, run_cli, upload_args
from tests.plugins.photo_checks import write_checked_photo


@pytest.fixture
def key_env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    return sandbox.demo.api_key


@pytest.fixture
def visit(sandbox: SandboxServer) -> datetime:
    with ApiClient(sandbox.base_url, sandbox.demo.api_key, sandbox.demo.org_id) as client:
        note = client.get_note(sandbox.demo.open_note_id)
    assert note.visit_datetime is not None
    return note.visit_datetime.replace(tzinfo=None)


def test_a_photo_from_another_day_is_refused_unless_allowed(
    sandbox: SandboxServer,
    key_env: str,
    visit: datetime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    today = write_checked_photo(tmp_path / "today.jpg", visit, seed=1)
    old = write_checked_photo(tmp_path / "old.jpg", visit - timedelta(days=37), seed=2)
    code, out, _err = run_cli(capsys, upload_args(sandbox, today, old))
    assert code == 1, out
    assert f"{old}  held: not sent" in out
    assert "37 days before this visit" in out and "--allow-other-dates" in out
    assert "1 stopped by the photo checks" in out
    assert len(sandbox.uploads()) == 1

    code, out, _err = run_cli(capsys, [*upload_args(sandbox, old), "--allow-other-dates", "--json"])
    assert code == 0, out
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["verified"] is True
    assert record["capturedAt"] == (visit - timedelta(days=37)).isoformat()
    assert record["findings"] == [
        {"code": "other_day", "severity": "hold", "message": record["findings"][0]["message"]}
    ]
    assert len(sandbox.uploads()) == 2


def test_another_patients_label_never_reaches_the_server(
    sandbox: SandboxServer,
    key_env: str,
    visit: datetime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    label = write_checked_photo(tmp_path / "label.jpg", visit, label="MRN:999999", seed=3)
    wound = write_checked_photo(tmp_path / "wound.jpg", visit, seed=4)
    args = [*upload_args(sandbox, label, wound), "--allow-other-dates", "--json"]
    code, out, _err = run_cli(capsys, args)
    assert code == 1
    by_file = {r["file"]: r for r in map(json.loads, out.splitlines())}
    refused = by_file[str(label)]
    assert refused["status"] == "blocked" and refused["errorCode"] == "label_mismatch"
    assert "MRN 999999" in refused["message"] and refused["nextStep"]
    assert refused["findings"][0]["severity"] == "block"
    assert refused["capturedAt"] == visit.isoformat()
    assert by_file[str(wound)]["verified"] is True
    assert len(sandbox.uploads()) == 1
    with QueueStore() as store:  # nothing of the refused photo waits in the queue
        assert not store.items(states=[ItemState.STAGED])


def test_rerunning_after_a_crash_sends_what_was_left_and_counts_what_the_server_has(
    sandbox: SandboxServer,
    key_env: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    photos = [write_checked_photo(tmp_path / f"p{n}.jpg", None, seed=n) for n in range(5)]
    # A first run sent two photos completely...
    assert run_cli(capsys, upload_args(sandbox, *photos[:2]))[0] == 0
    # ...then a second run was killed: one photo mid-preparation, one queued, and one whose
    # request had gone out when it died (its answer never recorded).
    preparing, queued, sending = queue_as_left(sandbox, photos[2:])
    with QueueStore() as store:
        store.update(preparing.id, ItemState.PREPARING, message="preparing the photo")
        store.update(sending.id, ItemState.READY, message="prepared")
        store.update(sending.id, ItemState.UPLOADING, message="sending (attempt 1)")
    assert len(sandbox.uploads()) == 2

    for already in (3, 5):  # the user runs the same command again, twice
        code, out, _err = run_cli(capsys, upload_args(sandbox, *photos))
        assert code == 1, out  # one photo waits for the user's decision
        assert "4 of 5 photos reached the server" in out
        assert "1 waiting for your decision" in out
        # Not queued again: the photos already on the note and the interrupted one (the second
        # time, also the two this run sent).
        assert out.count("not sent again") == already
        assert "stopped while this photo was being sent" in out
        # Each photo reached the server once: the one mid-preparation was sent in place.
        assert len(sandbox.uploads()) == 4
        with QueueStore() as store:
            assert store.get(preparing.id).state == ItemState.VERIFIED
            assert store.get(queued.id).state == ItemState.VERIFIED
            assert store.get(sending.id).state == ItemState.NEEDS_DECISION
            decisions = store.items(states=[ItemState.NEEDS_DECISION], include_hidden=True)
            assert [d.id for d in decisions] == [sending.id]  # no new decision items
