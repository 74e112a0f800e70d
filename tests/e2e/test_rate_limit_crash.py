"""A 429 on the upload itself: the photo is put back to 'ready' (nothing stored) before the
wait, so a hard kill during the wait leaves nothing ambiguous and the next run simply sends it.
Real processes, a real sandbox, the real queue file.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from maxupload.sandbox import SandboxServer
from tests.e2e.test_crash_safety import Row, Uploader, make_photos, uploader  # noqa: F401

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

UPLOAD_PATH = "/v*/notes/*/images"


def _row_when(u: Uploader, done: object, timeout: float = 30) -> Row | None:
    """Poll the queue file until its only row satisfies ``done`` (or the time is up)."""
    deadline = time.monotonic() + timeout
    row: Row | None = None
    while time.monotonic() < deadline:
        rows = u.rows()
        row = rows[0] if rows else None
        if row is not None and done(row):  # type: ignore[operator]
            return row
        time.sleep(0.02)
    return row


def test_killed_while_waiting_out_a_429_on_the_upload_then_sent_once(
    uploader: Uploader,  # noqa: F811
    sandbox: SandboxServer,
    tmp_path: Path,
) -> None:
    make_photos(tmp_path / "batch", 1)
    # The upload is answered 429 with a long Retry-After; note reads go through.
    sandbox.set_faults(rate_limit_burst=-1, retry_after_s=60, paths=[UPLOAD_PATH], methods=["POST"])
    proc = uploader.upload(tmp_path / "batch")
    deadline = time.monotonic() + 30
    while not any(e.get("fault") == "rate_limit_burst" for e in sandbox.request_log()):
        assert proc.poll() is None and time.monotonic() < deadline, "no 429 was answered"
        time.sleep(0.02)
    waiting = _row_when(uploader, lambda r: r.state != "uploading", timeout=10)
    uploader.kill(proc)

    assert waiting is not None
    assert waiting.state == "ready", waiting  # back to 'not stored' before the wait
    assert not sandbox.uploads()

    sandbox.set_faults(rate_limit_burst=0, paths=None, methods=None)
    code, out = uploader.run("queue", "resume", "--json")
    assert code == 0, out
    rows = uploader.rows()
    assert [r.state for r in rows] == ["verified"], rows
    assert "a copy may be stored" not in out
    assert len(sandbox.uploads()) == 1
