"""MaxUpload's own folders and files cannot be written: every command ends with a message
naming the place and the fix (never "the disk is full", never another window's fault).

These must fail for root too, who ignores file modes: a home folder on /proc (no folder can be
created there), a home under a regular file, and a queue file made immutable with ``chattr +i``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.system.storage import disk_is_full
from maxupload.sandbox import SandboxServer
from tests.commands.test_no_tracebacks import queue_with_items, run
from tests.commands.test_upload import upload_args
from tests.plugins.images import photo, write_jpeg

COMMANDS = [["queue"], ["queue", "resume"], ["queue", "show", "1"]]
UNWRITABLE_HOME = Path("/proc/1")


@pytest.fixture
def home_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No MAXUPLOAD_HOME and no XDG folders: MaxUpload's folders come from HOME."""
    monkeypatch.delenv("MAXUPLOAD_HOME", raising=False)
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


@pytest.mark.skipif(not UNWRITABLE_HOME.is_dir(), reason="needs /proc (Linux)")
@pytest.mark.parametrize("argv", COMMANDS)
def test_home_folder_not_writable(
    argv: list[str], home_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home_env.setenv("HOME", str(UNWRITABLE_HOME))
    code, _out, err = run(argv, capsys)
    assert code == 3, err
    assert str(UNWRITABLE_HOME) in err and "Next:" in err
    assert "full" not in err.lower()  # a folder that cannot be made is not a full disk
    assert "close other" not in err.lower()
    assert "home folder" in err


@pytest.mark.skipif(not UNWRITABLE_HOME.is_dir(), reason="needs /proc (Linux)")
def test_a_file_system_without_space_of_its_own_is_not_full() -> None:
    assert not disk_is_full(UNWRITABLE_HOME / ".local" / "share")


@pytest.mark.parametrize("argv", COMMANDS)
def test_maxupload_home_under_a_regular_file(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    monkeypatch.setenv("MAXUPLOAD_HOME", str(blocker / "home"))
    code, _out, err = run(argv, capsys)
    assert code == 3, err
    assert str(blocker) in err and "not what it should be" in err
    assert "Move the file that is in the way" in err


def _make_read_only(path: Path) -> str:
    """Make ``path`` unwritable even for root (``chattr +i``), or skip saying why not."""
    if os.geteuid() != 0:
        path.chmod(0o444)
        return "mode"
    if shutil.which("chattr") is None:
        pytest.skip("root ignores file modes and chattr is not installed")
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"root ignores file modes and chattr +i failed here: {done.stderr!r}")
    return "immutable"


@pytest.fixture
def read_only_queue(app_home: Path) -> Iterator[Path]:
    path = queue_with_items(app_home, count=3)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    how = _make_read_only(path)
    yield path
    if how == "immutable":
        subprocess.run(["chattr", "-i", str(path)], check=False)
    else:
        path.chmod(0o600)


@pytest.mark.parametrize("argv", COMMANDS)
def test_read_only_queue_file(
    argv: list[str], read_only_queue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = read_only_queue.read_bytes()
    code, _out, err = run(argv, capsys)
    assert code == 3, err
    assert str(read_only_queue) in err and "cannot write" in err and "Next:" in err
    assert "close other" not in err.lower() and "full" not in err.lower()
    assert read_only_queue.read_bytes() == before  # nothing lost or changed


@pytest.mark.skipif(not UNWRITABLE_HOME.is_dir(), reason="needs /proc (Linux)")
def test_upload_with_a_home_folder_not_writable_sends_nothing_and_says_why(
    home_env: pytest.MonkeyPatch,
    sandbox: SandboxServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    picture = write_jpeg(tmp_path / "wound.jpg", photo(200, 150, seed=3))
    home_env.setenv("HOME", str(UNWRITABLE_HOME))
    home_env.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    code, _out, err = run([*upload_args(sandbox, picture), "--yes"], capsys)
    assert code == 3, err
    assert str(UNWRITABLE_HOME) in err and "home folder" in err
    assert "full" not in err.lower() and "close other" not in err.lower()
    assert sandbox.uploads() == []
