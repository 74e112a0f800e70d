"""``scripts/headless.sh`` (what ``run.sh`` uses without a screen): it says when the window is
open and on which display, and Ctrl+C or SIGTERM stop the app first, then Xvfb, leaving
nothing behind."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed")


def _lines(stream: object, into: queue.Queue[str]) -> None:
    for line in stream:  # type: ignore[attr-defined]
        into.put(line)
    into.put("")


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "sighup"])
def test_the_window_is_announced_and_everything_stops(
    how: str, app_home: Path, tmp_path: Path
) -> None:
    env = dict(os.environ, MAXUPLOAD_HOME=str(app_home), TMPDIR=str(tmp_path))
    env.pop("QT_QPA_PLATFORM", None)  # a real (virtual) X screen, not offscreen
    env.pop("DISPLAY", None)
    script = subprocess.Popen(
        ["bash", "scripts/headless.sh", str(ROOT / ".venv/bin/maxupload"), "--sandbox"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own terminal-like process group, for the Ctrl+C
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(script.stdout, lines), daemon=True).start()
    seen: list[str] = []
    display = None
    try:
        while display is None:
            line = lines.get(timeout=90)
            seen.append(line)
            assert line, f"the script ended before the window opened: {seen}"
            found = re.search(r"window is open on the virtual screen :(\d+)", line)
            if found:
                display = found.group(1)
        assert Path(f"/tmp/.X11-unix/X{display}").exists()
        if how == "ctrl-c":
            os.killpg(script.pid, signal.SIGINT)  # what the terminal sends to its foreground
        else:
            script.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGHUP)
        code = script.wait(timeout=60)
    finally:
        if script.poll() is None:
            os.killpg(script.pid, signal.SIGKILL)
            script.wait()
    while (line := lines.get(timeout=10)) != "":
        seen.append(line)
    assert code == 0, seen
    assert any("Stopping MaxUpload" in s for s in seen)
    assert not any("Traceback" in s for s in seen), seen
    assert not Path(f"/tmp/.X11-unix/X{display}").exists()  # Xvfb ended cleanly
    assert not Path(f"/tmp/.X{display}-lock").exists()
    assert not list(tmp_path.glob("tmp.*"))  # the script's temporary folder is gone
