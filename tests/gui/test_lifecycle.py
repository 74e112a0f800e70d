"""Quitting with work pending asks first; the next start restores the queue and waits for the
user to confirm the patient again before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maxupload.core.system.paths import app_paths
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import (
    TIMEOUT_MS,
    close_app,
    ready_to_upload,
    states,
    upload_requests,
)


def test_quit_with_pending_uploads_asks_and_restart_restores_the_queue(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    queue = app_paths().data / "queue.sqlite3"
    first = make_app(queue_path=queue)
    window = first.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 2)
    first.engine.pause()  # the network goes away before anything leaves
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        window.upload()
    qtbot.waitUntil(lambda: states(window) == ["queued", "queued"], timeout=TIMEOUT_MS)

    # Quitting asks first; "Keep working" keeps the window open.
    with qtbot.waitSignal(window.question_shown, timeout=TIMEOUT_MS) as asked:
        window.close()
    box = asked.args[0]
    assert "2 photos are still on the way" in box.text()
    next(b for b in box.buttons() if b.text() == "Keep working").click()
    qtbot.wait(100)
    assert window.isVisible()
    # "Quit" closes and shuts the engine down (its threads are joined).
    with qtbot.waitSignal(window.question_shown, timeout=TIMEOUT_MS) as asked:
        window.close()
    next(b for b in asked.args[0].buttons() if b.text() == "Quit").click()
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=TIMEOUT_MS)
    close_app(first)
    assert not upload_requests(sandbox)

    # Next start: the two photos are back, bound to their note, and nothing is sent yet.
    second = make_app(queue_path=queue)
    window = second.window
    with qtbot.waitSignal(window.restored, timeout=TIMEOUT_MS) as restored:
        pass
    assert restored.args == [2]
    assert states(window) == ["queued", "queued"]
    assert all(r.note_id == sandbox.demo.open_note_id for r in window.model.rows())
    assert window.notice.isVisible() and "last session" in window.notice.text()
    qtbot.waitUntil(lambda: window.banner.note is not None, timeout=TIMEOUT_MS)
    assert window.banner.note.id == sandbox.demo.open_note_id
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    assert not window.banner.is_confirmed
    assert not window.status_panel.upload.isEnabled()
    qtbot.wait(300)
    assert not upload_requests(sandbox)

    window.banner.confirm_box.click()
    assert window.status_panel.upload.text() == "Upload 2 photos to Rivera, Elena"
    window.upload()
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=60_000)
    assert len(sandbox.uploads()) == 2
