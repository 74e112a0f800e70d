"""``maxupload upload`` and ``maxupload queue`` end to end against the sandbox (in process)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.api.models import Target
from maxupload.core.intake import scan
from maxupload.core.queue.model import ItemState, NewItem, QueueItem
from maxupload.core.queue.store import QueueStore
from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "photos"
    folder.mkdir()
    return [write_jpeg(folder / f"photo-{n}.jpg", photo(200, 150, seed=n)) for n in range(3)]


@pytest.fixture
def key_env(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    return sandbox.demo.api_key


def upload_args(srv: SandboxServer, *paths: Path | str, note: str | None = None) -> list[str]:
    return [
        "upload",
        "--note",
        note or srv.demo.open_note_id,
        "--provider",
        srv.demo.provider_id,
        "--org",
        srv.demo.org_id,
        "--base-url",
        srv.base_url,
        *[str(p) for p in paths],
    ]


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def queue_as_left(
    srv: SandboxServer, paths: list[Path], provider_id: str | None = None
) -> list[QueueItem]:
    """Queue ``paths`` for the open note as an earlier run left them (nothing sent yet)."""
    target = Target(
        srv.demo.org_id,
        srv.demo.open_note_id,
        provider_id or srv.demo.provider_id,
        "Rivera, Elena",
        srv.base_url,
    )
    accepted = scan(paths).accepted
    with QueueStore() as store:
        return store.add([NewItem(a.path, a.size, a.sha256) for a in accepted], target, "standard")


LINE = re.compile(r"^(?P<file>\S+)  synced  (?P<image>img_[0-9a-f]+)  (?P<kb>\d+) KB  verified$")


def test_upload_prints_one_line_per_photo_and_exits_0(
    sandbox: SandboxServer,
    key_env: str,
    photos: list[Path],
    app_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_cli(capsys, upload_args(sandbox, photos[0].parent))
    assert code == 0, out + err
    lines = [m for m in (LINE.match(line) for line in out.splitlines()) if m]
    assert sorted(m["file"] for m in lines) == sorted(str(p) for p in photos)
    assert "Patient: " in out and "MRN" in out and "visit 20" in out
    assert "3 of 3 photos reached the server (3 verified)." in out
    stored = {u["id"] for u in sandbox.uploads()}
    assert {m["image"] for m in lines} == stored
    assert key_env not in out + err
    # The key is in no file MaxUpload wrote (queue, its journal, logs, cache).
    written = [p for p in app_home.rglob("*") if p.is_file()]
    assert any(p.name == "queue.sqlite3" for p in written)
    for path in written:
        assert key_env.encode() not in path.read_bytes(), path


def test_json_output_has_one_object_per_file(
    sandbox: SandboxServer,
    key_env: str,
    photos: list[Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("not a photo")
    code, out, err = run_cli(capsys, [*upload_args(sandbox, photos[0], junk), "--json"])
    assert code == 1  # one file did not reach the server
    records = [json.loads(line) for line in out.splitlines()]
    by_file = {r["file"]: r for r in records}
    assert set(by_file) == {str(photos[0]), str(junk)}
    ok = by_file[str(photos[0])]
    assert ok["status"] == "synced" and ok["verified"] is True
    assert ok["imageId"].startswith("img_") and ok["sizeKb"] >= 1
    rejected = by_file[str(junk)]
    assert rejected["status"] == "rejected" and rejected["message"] and rejected["nextStep"]
    for record in records:
        assert {"file", "status", "imageId", "sizeKb", "traceId", "errorCode", "message"} <= set(
            record
        )
    assert "Patient:" in err  # the confirmation goes to stderr, stdout stays JSON


@pytest.mark.parametrize(
    ("case", "needle"),
    [
        ("signed", "is signed and takes no more images"),
        ("unknown", "does not exist in this organization"),
        ("bad_key", "API key was rejected"),
    ],
)
def test_setup_problems_stop_before_anything_is_sent(
    sandbox: SandboxServer,
    photos: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    case: str,
    needle: str,
) -> None:
    key = "max_dev_ak_" + "0" * 32 if case == "bad_key" else sandbox.demo.api_key
    monkeypatch.setenv("MAXUPLOAD_API_KEY", key)
    note = {"signed": sandbox.demo.signed_note_id, "unknown": "nte_" + "0" * 32}.get(case)
    code, _out, err = run_cli(capsys, upload_args(sandbox, photos[0], note=note))
    assert code == 2
    assert needle in err
    assert "Next: " in err
    assert sandbox.uploads() == []


def test_missing_key_says_how_to_set_one(
    sandbox: SandboxServer, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run_cli(capsys, upload_args(sandbox, photos[0]))
    assert code == 2
    assert "No API key" in err and "maxupload key set" in err


def test_missing_scope_names_it(
    sandbox: SandboxServer,
    photos: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.readonly_key)
    code, out, _err = run_cli(capsys, upload_args(sandbox, photos[0]))
    assert code == 1
    assert f"{photos[0]}  failed" in out
    assert "'write:notes'" in out
    assert sandbox.uploads() == []


def test_502_then_send_again_from_the_queue(
    sandbox: SandboxServer, key_env: str, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox.set_faults(ehr_fail=1)
    code, out, _err = run_cli(capsys, upload_args(sandbox, photos[0]))
    assert code == 1
    assert f"{photos[0]}  needs_decision" in out
    assert "EHR sync failed" in out and "Trace id: " in out
    match = re.search(r"maxupload queue send-again (\d+)", out)
    assert match, out
    item_id = match.group(1)

    code, out, _err = run_cli(capsys, ["queue"])
    assert code == 0
    assert "needs_decision" in out and "Rivera" in out and sandbox.demo.open_note_id in out

    # Not on a terminal and without --yes: refused, nothing sent.
    code, _out, err = run_cli(capsys, ["queue", "send-again", item_id])
    assert code == 2 and "--yes" in err
    assert len(sandbox.uploads()) == 1  # the copy the 502 left behind

    code, out, _err = run_cli(capsys, ["queue", "send-again", item_id, "--yes"])
    assert code == 0, out
    assert re.search(r"synced  img_[0-9a-f]+  \d+ KB  verified", out)
    assert len(sandbox.uploads()) == 2  # the test chose to send again

    code, out, _err = run_cli(capsys, ["queue", "show", item_id])
    assert "the user chose to send it again" in out and "EHR sync failed" in out


def test_queue_on_an_empty_queue(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = run_cli(capsys, ["queue"])
    assert code == 0 and "empty" in out


def test_a_terminal_user_who_declines_sends_nothing(
    sandbox: SandboxServer, photos: list[Path], app_home: Path
) -> None:
    import pty

    leader, follower = pty.openpty()
    env = {
        **os.environ,
        "MAXUPLOAD_API_KEY": sandbox.demo.api_key,
        "MAXUPLOAD_HOME": str(app_home),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "maxupload", *upload_args(sandbox, photos[0])],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        cwd=ROOT,
    )
    os.close(follower)
    seen = b""
    try:
        while b"[y/N]" not in seen:
            chunk = os.read(leader, 4096)
            if not chunk:
                break
            seen += chunk
        assert b"Upload 1 photo to Rivera" in seen
        os.write(leader, b"n\n")
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        code = proc.wait(timeout=60)
        os.close(leader)
    assert code == 1
    assert b"Nothing was sent." in seen
    assert sandbox.uploads() == []


def test_the_same_photo_twice_in_one_batch_is_sent_once(
    sandbox: SandboxServer, key_env: str, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    twin = photos[0].parent / "copy-of-photo-0.jpg"
    twin.write_bytes(photos[0].read_bytes())
    code, out, _err = run_cli(capsys, upload_args(sandbox, photos[0], twin))
    assert code == 0, out
    assert "skipped" in out and "it is sent once" in out
    assert len(sandbox.uploads()) == 1


def test_clear_done_and_the_guard_on_a_second_run(
    sandbox: SandboxServer, key_env: str, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, upload_args(sandbox, photos[0]))[0] == 0
    code, out, _err = run_cli(capsys, ["queue", "clear", "--done"])
    assert code == 0 and "Removed 1" in out
    assert "empty" in run_cli(capsys, ["queue"])[1]
    # Cleared from the list, still remembered: the same photo again is not sent again, and is
    # counted as on the server (it is), without a new item waiting for a decision.
    code, out, _err = run_cli(capsys, upload_args(sandbox, photos[0]))
    assert code == 0, out
    assert "already sent to this note" in out and "not sent again" in out
    assert "1 of 1 photos reached the server" in out
    assert len(sandbox.uploads()) == 1
    with QueueStore() as store:
        assert not store.items(states=[ItemState.NEEDS_DECISION], include_hidden=True)


def test_resume_after_a_crash(
    sandbox: SandboxServer,
    photos: list[Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The queue as a crash left it: one photo was being sent, one was still waiting.
    sending, waiting = queue_as_left(sandbox, photos[:2])
    with QueueStore() as store:
        store.update(sending.id, ItemState.UPLOADING, message="sending (attempt 1)")

    # No key yet: nothing is sent, the waiting photo stays queued, and the message says why.
    code, _out, err = run_cli(capsys, ["queue", "resume"])
    assert code == 2 and "stay queued" in err and "maxupload key set" in err
    assert sandbox.uploads() == []

    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    code, out, _err = run_cli(capsys, ["queue", "resume"])
    assert code == 1  # one photo waits for the user's decision
    assert f"Item {sending.id} ({photos[0].name}) waits for your decision" in out
    assert "stopped while this photo was being sent" in out
    assert re.search(rf"{re.escape(str(photos[1]))}  synced  img_\w+  \d+ KB  verified", out)
    assert len(sandbox.uploads()) == 1  # the interrupted one was not re-sent by itself
    with QueueStore() as store:
        assert store.get(sending.id).state == ItemState.NEEDS_DECISION
        assert store.get(waiting.id).state == ItemState.VERIFIED


def test_running_the_same_upload_again_after_a_crash_sends_what_was_left(
    sandbox: SandboxServer, key_env: str, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # A first run queued three photos and died before sending any.
    left = queue_as_left(sandbox, photos)

    code, out, _err = run_cli(capsys, upload_args(sandbox, *photos))
    assert code == 0, out
    assert out.count("  verified") == 3
    assert "needs_decision" not in out
    assert len(sandbox.uploads()) == 3
    with QueueStore() as store:
        assert [store.get(i.id).state for i in left] == [ItemState.VERIFIED] * 3
        assert [i.state for i in store.items()] == [ItemState.VERIFIED] * 3  # no twins listed


def test_a_photo_left_queued_for_another_provider_is_not_sent_in_its_place(
    sandbox: SandboxServer, key_env: str, photos: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    demo = sandbox.demo
    other = next(
        p["id"]
        for p in demo.providers
        if p["id"] != demo.provider_id
        and not p.get("hidden")
        and demo.visible(demo.org_id, p["id"])
    )
    # A first run queued the photo as another provider and died before sending it.
    (left,) = queue_as_left(sandbox, photos[:1], provider_id=other)

    code, out, _err = run_cli(capsys, upload_args(sandbox, photos[0]))
    # The command said "as provider <its provider>": the photo is not sent as the other one.
    assert code == 1, out
    assert "already queued for this note" in out
    assert all(u["providerId"] == demo.provider_id for u in sandbox.uploads())
    with QueueStore() as store:
        assert store.get(left.id).state == ItemState.QUEUED
