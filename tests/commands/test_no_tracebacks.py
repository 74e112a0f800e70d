"""Every command ends with a message and an exit code, never a traceback: damaged or misplaced
queue files and folders, bad option values and environment variables, and random argv."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maxupload.cli import main
from maxupload.core.api.models import Target
from maxupload.core.queue.model import NewItem
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.logsetup import shutdown_logging, uninstall_cli_redaction
from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """The command in process; argparse's refusals (SystemExit) count as an exit code."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    finally:
        uninstall_cli_redaction()
        shutdown_logging()
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err, out + err
    assert "Logging error" not in err
    return code, out, err


def queue_with_items(home: Path, count: int = 30) -> Path:
    target = Target("org_1", "nte_1", "prv_1", "Rivera, Elena", "http://127.0.0.1:9/v3")
    with QueueStore() as store:
        store.add(
            [NewItem(home / f"photo-{n}.jpg", 1000 + n, f"{n:064x}") for n in range(count)],
            target,
            "standard",
        )
        path = store.path
    return path


def _garbage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00garbage, not a database\xff" * 200)


def _truncated(path: Path) -> None:
    queue_with_items(path.parent)
    _checkpoint(path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:
        handle.truncate(size // 3)


def _corrupt_page(path: Path) -> None:
    queue_with_items(path.parent, count=200)
    _checkpoint(path)
    size = path.stat().st_size
    with open(path, "r+b") as handle:  # every page but the first (the header and the schema)
        handle.seek(4096)
        handle.write(os.urandom(size - 4096))


def _checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _folder(path: Path) -> None:
    path.mkdir(parents=True)


def _data_is_a_file(path: Path) -> None:
    path.parent.parent.mkdir(parents=True, exist_ok=True)
    path.parent.write_text("not a folder")


DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage": _garbage,
    "truncated": _truncated,
    "corrupt page": _corrupt_page,
    "queue file is a folder": _folder,
    "data folder is a file": _data_is_a_file,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
@pytest.mark.parametrize("argv", [["queue"], ["queue", "show", "3"], ["queue", "resume"]])
def test_a_damaged_queue_is_named_with_the_fix(
    damage: str, argv: list[str], app_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    DAMAGE[damage](app_home / "data" / "queue.sqlite3")
    code, _out, err = run(argv, capsys)
    assert code in (2, 3), err
    assert "maxupload:" in err and "Next:" in err
    assert "close other" not in err.lower()  # not another window's fault


def test_maxupload_home_that_is_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home-file"
    home.write_text("x")
    monkeypatch.setenv("MAXUPLOAD_HOME", str(home))
    for argv in (["queue"], ["queue", "resume"], ["key", "status", "--org", "org_1"]):
        code, _out, err = run(argv, capsys)
        assert code != 0 and "maxupload:" in err, (argv, err)


@pytest.mark.parametrize(
    "argv",
    [
        ["queue", "show", "99999999999999999999999"],
        ["queue", "retry", "0"],
        ["sandbox", "--port", "70000"],
        ["upload", "--note", "n" * 100_000, "--provider", "prv_1", "--org", "org_1", "x.jpg"],
        ["upload", "--note", "nte_1", "--provider", "prv_1", "--org", "org\x1b[2J", "x.jpg"],
        ["upload", "--note", "nte_1", "--provider", "prv_1", "--org", "organización", "x.jpg"],
        ["upload", "--note", "nte_1", "--provider", "prv_1", "--workers", "0", "x.jpg"],
        ["upload", "--note", "", "--provider", "prv_1", "x.jpg"],
    ],
)
def test_bad_values_are_refused_before_anything_happens(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = run(argv, capsys)
    assert code == 2 and "error:" in err
    assert len(err) < 2000  # the 100k-character value is not echoed back


@pytest.mark.parametrize("key", ["max_dev_ak_abc def ghi jkl", "max_dev_ak_abcdefghijkl\r\nX: y"])
def test_a_key_that_cannot_be_sent_is_named_not_echoed(
    key: str,
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MAXUPLOAD_API_KEY", key)
    picture = write_jpeg(tmp_path / "p.jpg", photo(100, 80, seed=1))
    demo = sandbox.demo
    argv = ["upload", "--yes", "--note", demo.open_note_id, "--provider", demo.provider_id]
    argv += ["--org", demo.org_id, "--base-url", sandbox.base_url, str(picture)]
    code, out, err = run(argv, capsys)
    assert code == 2 and "API key" in err, err
    assert "abcdefghijkl" not in out + err and "def ghi" not in out + err
    assert sandbox.uploads() == []


# --- random argv and environment ---------------------------------------------------------------

_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=40
)
_VALUE = st.one_of(
    _TEXT,
    st.sampled_from(["0", "-1", "70000", "99999999999999999999999", "nte_1", "prv_1", "org_1"]),
    st.sampled_from(["\r\n", " ", "\x00", "\x1b[31m", "max_dev_ak_" + "a" * 30, "é" * 300]),
)
_QUEUE = st.sampled_from(
    [
        ["queue"],
        ["queue", "list"],
        ["queue", "show"],
        ["queue", "retry"],
        ["queue", "cancel"],
        ["queue", "remove"],
        ["queue", "send-again"],
        ["queue", "clear"],
        ["queue", "resume"],
    ]
)
_OPTIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "--note",
                "--provider",
                "--org",
                "--base-url",
                "--env",
                "--preset",
                "--workers",
                "--out",
                "--json",
                "--yes",
                "--all",
                "--done",
                "",
            ]
        ),
        _VALUE,
    ),
    max_size=5,
)
_ENV = st.fixed_dictionaries(
    {},
    optional={
        "MAXUPLOAD_API_KEY": _VALUE,
        "HTTPS_PROXY": _VALUE,
        "HTTP_PROXY": _VALUE,
        "MAXUPLOAD_HOME_KIND": st.sampled_from(["file", "missing", "folder"]),
    },
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.one_of(
        _QUEUE,
        st.just(["upload"]),
        st.just(["prepare"]),
        st.sampled_from([["key", "status"], ["key", "test"]]),
    ),
    options=_OPTIONS,
    positional=st.lists(_VALUE, max_size=2),
    env=_ENV,
)
def test_random_argv_and_environment_never_show_a_traceback(
    command: list[str],
    options: list[tuple[str, str]],
    positional: list[str],
    env: dict[str, str],
    tmp_path: Path,
    sandbox: SandboxServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def inside(value: str) -> str:
        """Paths stay in this test's folder (prepare --out creates folders)."""
        if "/" in value or ".." in value or value.startswith("-"):
            return str(tmp_path / "given")
        return value

    argv = list(command)
    for flag, value in options:
        if flag in ("--json", "--yes", "--all", "--done"):
            argv.append(flag)
        elif flag == "--base-url":
            argv += [flag, sandbox.base_url if value.startswith("n") else value]
        elif flag == "--out":
            argv += [flag, inside(value)]
        elif flag:
            argv += [flag, value]
        else:
            argv.append(inside(value))
    argv += [inside(p) for p in positional]
    with monkeypatch.context() as patch:
        patch.chdir(tmp_path)  # relative paths land in this test's folder
        kind = env.pop("MAXUPLOAD_HOME_KIND", None)
        if kind == "file":
            home = tmp_path / "home-as-file"
            home.write_text("x")
            patch.setenv("MAXUPLOAD_HOME", str(home))
        elif kind == "missing":
            patch.setenv("MAXUPLOAD_HOME", str(tmp_path / "missing" / "home"))
        for name, value in env.items():
            if "\x00" in value:
                continue  # the OS refuses such variables before MaxUpload could see them
            patch.setenv(name, value)
        patch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 (closed with the patch)
        code, _out, _err = run(argv, capsys)
    assert isinstance(code, int)
