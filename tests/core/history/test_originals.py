"""Moving originals to the trash once verified: only verified photos, only unchanged files,
through the system trash (the XDG trash of a temporary data folder here), each move recorded."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.history.originals import MOVED
from maxupload.core.history.store import HistoryStore, history_path_for
from maxupload.core.queue.model import ItemState, QueueItem
from maxupload.core.queue.store import default_queue_path
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import upload_args
from tests.core.engine.test_engine import Harness
from tests.plugins.images import photo, write_jpeg
from tests.plugins.trash import trashed_names


@pytest.fixture(autouse=True)
def trash_home(xdg_trash: Path) -> Path:
    return xdg_trash


@pytest.fixture
def key(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    return sandbox.demo.api_key


def upload(srv: SandboxServer, folder: Path, *extra: str) -> int:
    return main([*upload_args(srv, folder), "--workers", "1", "--yes", *extra])


def card(folder: Path, count: int = 3) -> list[Path]:
    folder.mkdir(exist_ok=True)
    return [write_jpeg(folder / f"IMG_{n:04}.jpg", photo(160, 120, seed=n)) for n in range(count)]


def originals_in_history() -> dict[str, str]:
    with HistoryStore(history_path_for(default_queue_path())) as history:
        return {e.file_name: e.original for e in history.search()}


def test_verified_originals_go_to_the_trash_and_a_failed_one_stays(
    sandbox: SandboxServer,
    key: str,
    tmp_path: Path,
    trash_home: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    photos = card(tmp_path / "DCIM")
    sandbox.set_faults(ehr_fail=1)  # the first upload: 502, a copy may be stored
    assert upload(sandbox, tmp_path / "DCIM", "--trash-originals-when-verified") == 1
    out = capsys.readouterr().out
    assert "Moved 2 originals to the trash; kept 1" in out
    left = [p for p in photos if p.exists()]
    assert [p.name for p in left] == ["IMG_0000.jpg"]  # the one that was not verified
    assert trashed_names(trash_home) == ["IMG_0001.jpg", "IMG_0002.jpg"]
    info = (trash_home / "info" / "IMG_0001.jpg.trashinfo").read_text()
    assert f"Path={photos[1]}" in info
    assert originals_in_history() == {
        "IMG_0000.jpg": "",
        "IMG_0001.jpg": MOVED,
        "IMG_0002.jpg": MOVED,
    }
    assert (tmp_path / "DCIM").is_dir()  # the folder itself is never moved


def test_without_the_option_every_original_stays(
    sandbox: SandboxServer, key: str, tmp_path: Path, trash_home: Path
) -> None:
    photos = card(tmp_path / "DCIM", 2)
    assert upload(sandbox, tmp_path / "DCIM") == 0
    assert all(p.exists() for p in photos)
    assert trashed_names(trash_home) == []
    assert set(originals_in_history().values()) == {""}


@contextlib.contextmanager
def unverified_with_trash_wanted(
    sandbox: SandboxServer, tmp_path: Path
) -> Iterator[tuple[Harness, UploadEngine, Path, QueueItem]]:
    """One photo sent with the trash option whose stored copy cannot be downloaded: it ends
    ``synced``, not verified (verification gives up at once)."""
    harness = Harness(sandbox, tmp_path)
    [path] = harness.photos(1)
    sandbox.set_faults(error_500=-1, paths=["/_s3/*"], methods=["GET"])
    engine = harness.engine(verify_delays=())
    try:
        items = engine.add([path], harness.target, "standard")
        engine.history.remember(items, None, None, trash_originals=True)
        engine.start(only=[i.id for i in items])
        assert engine.wait_idle(timeout=60)
        item = harness.store.get(items[0].id)
        assert item.state == ItemState.SYNCED and item.image_id
        yield harness, engine, path, item
    finally:
        engine.shutdown()
        harness.store.close()


def test_an_unverified_photo_keeps_its_original(
    sandbox: SandboxServer, tmp_path: Path, trash_home: Path
) -> None:
    with unverified_with_trash_wanted(sandbox, tmp_path) as (_harness, engine, path, item):
        assert path.exists()
        assert trashed_names(trash_home) == []
        entry = engine.history.history.entry_for(item)
        assert entry is not None and entry.trash_original and entry.original == ""
        assert entry.verification == "not verified"


def test_a_file_changed_after_sending_is_kept(
    sandbox: SandboxServer, tmp_path: Path, trash_home: Path
) -> None:
    with unverified_with_trash_wanted(sandbox, tmp_path) as (harness, engine, path, item):
        write_jpeg(path, photo(160, 120, seed=99))  # the photo is edited on the card meanwhile
        sandbox.set_faults(error_500=0)
        engine.retry(item.id)  # check the stored copy again: now it verifies
        assert engine.wait_idle(timeout=60)
        item = harness.store.get(item.id)
        assert item.state == ItemState.VERIFIED
        entry = engine.history.history.entry_for(item)
        assert entry is not None
        assert entry.original == "kept: the file changed after it was sent"
        assert "original" in [c.state for c in entry.changes]
        assert path.exists()
        assert trashed_names(trash_home) == []


@pytest.fixture
def other_filesystem(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mounted for the test, like an SD card (skipped where mounting is not allowed)."""
    mount_point = tmp_path / "sdcard"
    mount_point.mkdir()
    try:
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired):
        pytest.skip("cannot run mount here")
    if done.returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield mount_point
    finally:
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            subprocess.run(["umount", str(mount_point)], capture_output=True, timeout=20)


def test_originals_on_another_filesystem_go_to_that_filesystems_trash(
    sandbox: SandboxServer, key: str, other_filesystem: Path, trash_home: Path
) -> None:
    assert os.stat(other_filesystem).st_dev != os.stat(trash_home.parent).st_dev
    photos = card(other_filesystem / "DCIM", 2)
    assert upload(sandbox, other_filesystem / "DCIM", "--trash-originals-when-verified") == 0
    assert not any(p.exists() for p in photos)
    card_trash = other_filesystem / f".Trash-{os.getuid()}" / "files"
    assert sorted(p.name for p in card_trash.iterdir()) == ["IMG_0000.jpg", "IMG_0001.jpg"]
    assert set(originals_in_history().values()) == {MOVED}
