"""``maxupload --sandbox`` asked to stop by the system (SIGTERM) or Ctrl+C (SIGINT) closes its
window through the normal path and exits with 0, instead of dying with 143 or 130."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_WAIT_S = 60.0
STOP_WAIT_S = 30.0
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


@pytest.fixture
def window_process(app_home: Path) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """The window in demo mode as its own process, offscreen, with its own app home."""
    env = {
        **os.environ,
        "MAXUPLOAD_HOME": str(app_home),
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("MAXUPLOAD_API_KEY", None)
    out = app_home.parent / "window.out"
    with out.open("wb") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "maxupload", "--sandbox"],
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=ROOT,
        )
    try:
        yield proc, out
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _wait_until_open(proc: subprocess.Popen[bytes], log_file: Path, out: Path) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the window exited early ({proc.returncode}):\n{out.read_text()}")
        if log_file.is_file() and "window open" in log_file.read_text(errors="replace"):
            return
        time.sleep(0.1)
    pytest.fail(f"the window did not open within {START_WAIT_S:.0f} s:\n{out.read_text()}")


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_closes_the_window_and_exits_cleanly(
    window_process: tuple[subprocess.Popen[bytes], Path], app_home: Path, stop: signal.Signals
) -> None:
    proc, out = window_process
    log_file = app_home / "log" / "maxupload.log"
    _wait_until_open(proc, log_file, out)

    proc.send_signal(stop)
    try:
        code = proc.wait(timeout=STOP_WAIT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_WAIT_S:.0f} s after {stop.name}:\n{out.read_text()}")

    assert code == 0, out.read_text()
    assert f"Stopping on signal {stop.name}" in log_file.read_text()
    assert "Traceback" not in out.read_text()
