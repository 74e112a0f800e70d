"""The sandbox's "paste this" upload line works as printed, also when ``maxupload`` is not on
PATH (right after ``run.sh``, which installs into ``.venv``)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
from pathlib import Path

from tests.plugins.images import photo, write_jpeg

ROOT = Path(__file__).resolve().parents[2]


def test_the_pasted_upload_line_runs_as_printed(app_home: Path, tmp_path: Path) -> None:
    env = dict(os.environ, MAXUPLOAD_HOME=str(app_home), PATH="/usr/bin:/bin")
    server = subprocess.Popen(
        [".venv/bin/maxupload", "sandbox"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = ""
        for line in server.stdout:
            if line.strip().startswith("MAXUPLOAD_API_KEY="):
                break
        words = shlex.split(line)
        assignment, program = words[0], words[1]
        assert program == ".venv/bin/maxupload", line  # not a bare 'maxupload' that is missing
        write_jpeg(tmp_path / "photo.jpg", photo(200, 150, seed=5))
        name, value = assignment.split("=", 1)
        done = subprocess.run(
            [str(ROOT / program), *words[2:], "--yes"],
            cwd=tmp_path,
            env=dict(env, **{name: value}),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "verified" in done.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
