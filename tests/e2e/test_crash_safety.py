"""Crash safety: the uploader is killed with SIGKILL mid-batch, restarted, and nothing is lost or
sent twice without the user's say. Real processes, a real sandbox, the real queue file.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


@dataclass
class Row:
    id: int
    state: str
    file_name: str
    sha256_sent: str | None
    image_id: str | None
    error_code: str | None
    error_message: str | None
    next_step: str | None


class Uploader:
    """Runs ``maxupload`` as a separate process against one sandbox and one app home."""

    def __init__(self, srv: SandboxServer, home: Path, logs: Path) -> None:
        self.srv = srv
        self.home = home
        self.logs = logs
        logs.mkdir(exist_ok=True)
        self.env = {
            **os.environ,
            "MAXUPLOAD_HOME": str(home),
            "MAXUPLOAD_API_KEY": srv.demo.api_key,
            "PYTHONUNBUFFERED": "1",
        }
        self.runs = 0
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        self.runs += 1
        out = (self.logs / f"run-{self.runs}.out").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "maxupload", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=self.env,
            cwd=ROOT,
        )
        out.close()
        self.procs.append(proc)
        return proc

    def upload(self, folder: Path) -> subprocess.Popen[bytes]:
        return self.start(*self.upload_args(folder))

    def upload_args(self, folder: Path) -> list[str]:
        """``maxupload upload`` of ``folder`` to the open note, as a script runs it."""
        demo = self.srv.demo
        return [
            "upload",
            "--note",
            demo.open_note_id,
            "--provider",
            demo.provider_id,
            "--org",
            demo.org_id,
            "--base-url",
            self.srv.base_url,
            "--preset",
            "small",
            "--json",
            "--yes",
            str(folder),
        ]

    def run(self, *args: str, timeout: float = 60) -> tuple[int, str]:
        proc = self.start(*args)
        code = proc.wait(timeout=timeout)
        return code, (self.logs / f"run-{self.runs}.out").read_text()

    def wait_for(self, proc: subprocess.Popen[bytes], arrivals: int, timeout: float = 30) -> None:
        """Return once the sandbox has seen ``arrivals`` photos in total (or ``proc`` ended)."""
        deadline = time.monotonic() + timeout
        while len(self.srv.uploads()) < arrivals and proc.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)

    def kill_when(self, proc: subprocess.Popen[bytes], arrivals: int, timeout: float = 30) -> None:
        """SIGKILL ``proc`` as soon as the sandbox has seen ``arrivals`` photos in total."""
        self.wait_for(proc, arrivals, timeout)
        self.kill(proc)

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def rows(self) -> list[Row]:
        path = self.home / "data" / "queue.sqlite3"
        if not path.exists():
            return []  # killed before the queue file was created
        conn = sqlite3.connect(path)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'items'").fetchone():
                return []  # killed after creating the file, before its first migration
            cur = conn.execute(
                "SELECT id, state, file_name, sha256_sent, image_id, error_code, "
                "error_message, next_step FROM items ORDER BY id"
            )
            return [Row(*r) for r in cur.fetchall()]
        finally:
            conn.close()

    def arrivals(self) -> Counter[str]:
        return Counter(u["sha256"] for u in self.srv.uploads())

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)


@pytest.fixture
def uploader(sandbox: SandboxServer, app_home: Path, tmp_path: Path) -> Iterator[Uploader]:
    u = Uploader(sandbox, app_home, tmp_path / "logs")
    yield u
    u.cleanup()


def make_photos(folder: Path, count: int, seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_jpeg(folder / f"photo-{n:03d}.jpg", photo(200, 150, seed=seed + n), metadata=False)
        for n in range(count)
    ]


def check_accounted(u: Uploader, count: int) -> dict[str, list[Row]]:
    """Every photo has one queue row, done or waiting for a decision with its reason; nothing
    arrived twice; every verified photo arrived exactly once."""
    rows = u.rows()
    assert len(rows) == count
    assert len({r.file_name for r in rows}) == count
    arrivals = u.arrivals()
    assert all(n == 1 for n in arrivals.values()), arrivals
    by_state: dict[str, list[Row]] = {}
    for row in rows:
        by_state.setdefault(row.state, []).append(row)
        if row.state == "verified":
            assert row.image_id and row.sha256_sent
            assert arrivals[row.sha256_sent] == 1
        else:
            assert row.state == "needs_decision", row
            assert row.error_message and row.next_step, row
            assert f"send-again {row.id}" in row.next_step
            if row.sha256_sent:
                assert arrivals[row.sha256_sent] <= 1
    known = {r.sha256_sent for r in rows if r.sha256_sent}
    assert set(arrivals) <= known  # nothing arrived that the queue does not know about
    return by_state


def decide_like_a_user(u: Uploader) -> int:
    """For each photo waiting for a decision: look at the note (the sandbox) and send again only
    the ones that are really missing. Returns how many were sent again."""
    arrivals = u.arrivals()
    sent_again = 0
    for row in u.rows():
        if row.state != "needs_decision":
            continue
        if row.sha256_sent and arrivals[row.sha256_sent] >= 1:
            continue  # it is on the note: nothing to do
        code, out = u.run("queue", "send-again", str(row.id), "--yes", "--json")
        assert code == 0, out
        sent_again += 1
    return sent_again


def test_killed_after_arrivals_and_resumed(
    uploader: Uploader, sandbox: SandboxServer, tmp_path: Path
) -> None:
    count = 12
    make_photos(tmp_path / "batch", count)
    sandbox.set_faults(latency_ms=40)  # uploads take a moment, so kills land mid-request too
    proc = uploader.upload(tmp_path / "batch")
    uploader.kill_when(proc, arrivals=3)
    after_first = uploader.rows()
    assert len(after_first) == count  # everything was queued before the first send

    proc = uploader.start("queue", "resume", "--json")
    uploader.kill_when(proc, arrivals=8)

    code, out = uploader.run("queue", "resume", "--json")
    assert code in (0, 1), out
    by_state = check_accounted(uploader, count)
    for row in by_state.get("needs_decision", []):
        assert row.error_code == "interrupted"

    decide_like_a_user(uploader)
    arrivals = uploader.arrivals()
    rows = uploader.rows()
    assert all(r.state == "verified" for r in rows if r.state != "needs_decision")
    # Every photo is on the note exactly once.
    assert sorted(arrivals.values()) == [1] * count
    assert {r.sha256_sent for r in rows} == set(arrivals)

    code, out = uploader.run("queue")
    assert code == 0
    assert out.count("verified") >= sum(1 for r in rows if r.state == "verified")


@pytest.mark.parametrize("seed", [1, 2])
def test_killed_at_random_moments(
    uploader: Uploader, sandbox: SandboxServer, tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    count = 10
    make_photos(tmp_path / "batch", count, seed=seed * 100)
    sandbox.set_faults(latency_ms=30)
    proc = uploader.upload(tmp_path / "batch")
    for _kill in range(3):
        time.sleep(rng.uniform(0.2, 1.2))
        uploader.kill(proc)
        if (
            all(r.state in ("verified", "needs_decision") for r in uploader.rows())
            and len(uploader.rows()) == count
        ):
            break
        proc = uploader.start("queue", "resume", "--json")
    uploader.kill(proc)
    rows = uploader.rows()
    if len(rows) < count:
        # Killed before the batch was queued (queueing is one transaction: all or nothing):
        # the user runs the same upload again.
        code, out = uploader.run(*uploader.upload_args(tmp_path / "batch"))
        assert code in (0, 1), out
    code, out = uploader.run("queue", "resume", "--json")
    assert code in (0, 1), out
    rows = uploader.rows()
    arrivals = uploader.arrivals()
    assert all(n == 1 for n in arrivals.values()), arrivals
    for row in rows:
        assert row.state in ("verified", "needs_decision"), row
        if row.state == "needs_decision":
            assert row.error_message and row.next_step
    decide_like_a_user(uploader)
    assert sorted(uploader.arrivals().values()) == [1] * count


def test_ctrl_c_stops_cleanly_and_resume_finishes(
    uploader: Uploader, sandbox: SandboxServer, tmp_path: Path
) -> None:
    count = 8
    make_photos(tmp_path / "batch", count, seed=500)
    sandbox.set_faults(latency_ms=40)
    proc = uploader.upload(tmp_path / "batch")
    uploader.wait_for(proc, arrivals=2)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 130
    output = (uploader.logs / f"run-{uploader.runs}.out").read_text()
    assert "photos not yet sent stay in the queue" in output
    rows = uploader.rows()
    assert len(rows) == count
    assert not [r for r in rows if r.state in ("preparing", "uploading")]  # stopped, not crashed

    code, out = uploader.run("queue", "resume", "--json")
    assert code == 0, out
    assert [r.state for r in uploader.rows()] == ["verified"] * count
    assert sorted(uploader.arrivals().values()) == [1] * count


def test_a_finished_run_closes_its_files_on_the_way_out(uploader: Uploader, tmp_path: Path) -> None:
    """The process ends without the interpreter's last walk over every object; the queue and
    history files are still closed (SQLite removes their write-ahead logs only then) and the
    log holds every photo's answer."""
    make_photos(tmp_path / "in", 3)
    code, out = uploader.run(*uploader.upload_args(tmp_path / "in"))
    assert code == 0, out
    data = uploader.home / "data"
    databases = sorted(data.glob("*.sqlite3"))
    assert databases, sorted(data.iterdir())
    assert not sorted(data.glob("*-wal")), sorted(data.iterdir())
    assert [r.state for r in uploader.rows()] == ["verified"] * 3
    log = (uploader.home / "log" / "maxupload.log").read_text()
    assert log.count("stored as img_") == 3 and log.endswith("\n"), log[-2000:]
