"""A full disk under MaxUpload's own data: the queue pauses with one clear message, never spins,
never blames the photo, and goes on once space is freed. Uses a real size-limited tmpfs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from maxupload.cli import main
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.logsetup import setup_logging, shutdown_logging, uninstall_cli_redaction
from maxupload.core.system.storage import StorageFull
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import upload_args
from tests.core.engine.test_engine import Harness
from tests.plugins.images import photo, write_jpeg
from tests.plugins.small_disk import SmallDisk


@pytest.fixture
def home_on_small_disk(small_disk: SmallDisk, monkeypatch: pytest.MonkeyPatch) -> SmallDisk:
    monkeypatch.setenv("MAXUPLOAD_HOME", str(small_disk.root / "home"))
    return small_disk


@pytest.mark.parametrize("go_on", ["resume", "start"])  # start: the window's Upload or Retry
def test_the_queue_pauses_once_and_resumes_after_space_is_freed(
    go_on: str, sandbox: SandboxServer, tmp_path: Path, home_on_small_disk: SmallDisk
) -> None:
    disk = home_on_small_disk
    h = Harness(sandbox, tmp_path)
    try:
        engine = h.engine(workers=2)
        engine.add(h.photos(3), h.target, "standard")
        disk.fill()
        engine.start()
        assert engine.wait_idle(timeout=60), "the engine kept working on a full disk"
        problem = engine.storage_problem
        assert isinstance(problem, StorageFull)
        assert "The disk holding MaxUpload's data is full" in str(problem)
        assert "resume" in problem.next_step
        for item in h.store.items():
            assert item.state not in (ItemState.FAILED, ItemState.NEEDS_DECISION), item
            assert not item.error_message, item  # the photo is not blamed
        assert h.srv.uploads() == []

        assert [type(e).__name__ for e in h.recorder.storage] == ["StorageFull"]  # told once

        disk.free()
        getattr(engine, go_on)()
        assert engine.storage_problem is None
        assert engine.wait_idle(timeout=60)
        items = h.store.items()
        assert [i.state for i in items] == [ItemState.VERIFIED] * 3
        assert all(h.arrivals(i) == 1 for i in items)
    finally:
        disk.free()
        h.close()


def test_a_full_log_disk_says_so_once_and_never_floods_stderr(
    home_on_small_disk: SmallDisk, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = setup_logging()
    try:
        logger = logging.getLogger("maxupload.test")
        logger.error("before the disk filled")
        home_on_small_disk.fill()
        for n in range(300):
            logger.error("line %d while the disk is full", n)
        err = capsys.readouterr().err
        assert "Logging error" not in err and "Traceback" not in err
        assert err.count("cannot be written") == 1, err
        assert str(log_file) in err

        home_on_small_disk.free()
        logger.error("after space was freed")
        for handler in logging.getLogger().handlers:
            handler.flush()
        assert "after space was freed" in log_file.read_text()
        logger.error("another line")
        for n in range(3):
            logger.error("more %d", n)
        assert capsys.readouterr().err == ""
    finally:
        home_on_small_disk.free()
        shutdown_logging()


@pytest.mark.parametrize("command", ["upload", "queue", "resume"])
def test_commands_end_with_the_message_and_code_3(
    command: str,
    sandbox: SandboxServer,
    tmp_path: Path,
    home_on_small_disk: SmallDisk,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    picture = write_jpeg(tmp_path / "photo.jpg", photo(200, 150, seed=3))
    QueueStore().close()  # the queue exists from an earlier run
    home_on_small_disk.fill()
    argv = {
        "upload": [*upload_args(sandbox, picture), "--yes"],
        "queue": ["queue"],
        "resume": ["queue", "resume"],
    }[command]
    try:
        code = main(argv)
    finally:
        uninstall_cli_redaction()
        shutdown_logging()
        home_on_small_disk.free()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err and "Logging error" not in err
    if command == "queue" and code == 0:
        return  # listing needs no space: reading a full disk's queue is fine
    assert code == 3, (out, err)
    assert "The disk holding MaxUpload's data is full" in err
    assert "Next:" in err
    assert sandbox.uploads() == []
