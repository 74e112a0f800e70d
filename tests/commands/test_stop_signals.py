"""SIGTERM and SIGHUP stop a command the way Ctrl+C does: a message, photos not yet sent stay
queued, an exit code; never an abrupt end or a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore
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


def test_a_trickling_server_ends_upload_with_what_to_do(
    sandbox: SandboxServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The note read against a server that never finishes answering: one message, exit 2,
    and no promise that this command tries again by itself (it has ended)."""
    from maxupload.core.api.client import ApiClient
    from tests.commands.test_no_tracebacks import run
    from tests.core.api.test_transport import TrickleServer

    # A 2 s total deadline instead of 30 s for every client this command makes.
    defaults = dict(ApiClient.__init__.__kwdefaults__ or {}, deadline=2.0)
    monkeypatch.setattr(ApiClient.__init__, "__kwdefaults__", defaults)
    monkeypatch.setenv("MAXUPLOAD_API_KEY", sandbox.demo.api_key)
    server = TrickleServer()
    try:
        picture = write_jpeg(tmp_path / "photo.jpg", photo(100, 80, seed=2))
        argv = ["upload", "--yes", "--note", "nte_1", "--provider", "prv_1", "--org", "org_1"]
        argv += ["--base-url", f"http://127.0.0.1:{server.port}/v3", str(picture)]
        code, _out, err = run(argv, capsys)
    finally:
        server.stop()
    assert code == 2
    assert "within 2 s" in err and "run the command again" in err
    assert "retries" not in err and "by itself" not in err
