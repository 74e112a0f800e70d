"""SIGTERM and SIGHUP stop a command the way Ctrl+C does: a message, photos not yet sent stay
queued, an exit code; never an abrupt end or a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from maxupload.core.queue_store import ItemState, QueueStore
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload import upload_args
from tests.plugins.images import photo, write_jpeg


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_stop_signal_ends_upload_cleanly(
    signum: int, sandbox: SandboxServer, app_home: Path, tmp_path: Path
) -> None:
    sandbox.set_faults(latency_ms=60_000, methods=["GET"])  # the note read hangs for a minute
    picture = write_jpeg(tmp_path / "photo.jpg", photo(200, 150, seed=9))
    env = dict(os.environ, MAXUPLOAD_HOME=str(app_home), MAXUPLOAD_API_KEY=sandbox.demo.api_key)
    proc = subprocess.Popen(
        [sys.executable, "-m", "maxupload", *upload_args(sandbox, picture), "--yes"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while not any(e["path"].endswith(sandbox.demo.open_note_id) for e in sandbox.request_log()):
            assert proc.poll() is None, proc.communicate()
            sandbox.stopping.wait(0.05)  # the note read has reached the server
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signum, out + err
    assert "Traceback" not in out + err
    assert "Stopped (" in err and "stay in the queue" in err
    with QueueStore() as store:
        assert all(i.state == ItemState.QUEUED for i in store.items())  # nothing half-done
