"""Photos a stopped ``maxupload upload`` left waiting for their photo checks come back in the
window; once the user confirms the patient and presses Upload, their checks run against the
note read again: the right photo is sent, another patient's label is stopped with its reason and
never reaches the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from maxupload.core.api.client import ApiClient
from maxupload.core.api.models import Target
from maxupload.core.batch_checks import queue_for_checks
from maxupload.core.engine.ports import UploadClient
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.intake import scan
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.paths import app_paths
from maxupload.core.uploads import UploadService, target_label
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, states, upload_requests
from tests.plugins.photo_checks import write_checked_photo


def leave_waiting_for_checks(sandbox: SandboxServer, queue: Path, photos: list[Path]) -> None:
    """What a ``maxupload upload`` stopped right after binding its batch leaves in the queue."""

    def no_client(_target: Target) -> UploadClient:
        raise AssertionError("nothing is sent before the checks")

    demo = sandbox.demo
    with ApiClient(sandbox.base_url, demo.api_key, demo.org_id) as client:
        note = client.get_note(demo.open_note_id)
    store = QueueStore(queue)
    engine = UploadEngine(store, no_client)
    try:
        target = Target(
            demo.org_id, note.id, demo.provider_id, target_label(note), sandbox.base_url
        )
        service = UploadService(store, engine, history=engine.history)
        queue_for_checks(service, scan(photos).unique, note, target, "standard")
    finally:
        assert engine.shutdown(wait=True)
        store.close()


def test_restored_photos_waiting_for_their_checks_are_checked_then_sent(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    right = write_checked_photo(tmp_path / "cam" / "right.jpg", None, seed=1)
    wrong = write_checked_photo(tmp_path / "cam" / "wrong.jpg", None, label="MRN:999999", seed=2)
    queue = app_paths().data / "queue.sqlite3"
    leave_waiting_for_checks(sandbox, queue, [right, wrong])

    app = make_app(queue_path=queue)
    window = app.window
    with qtbot.waitSignal(window.restored, timeout=TIMEOUT_MS) as restored:
        pass
    assert restored.args == [2]
    assert states(window) == ["checking", "checking"]
    assert all("photo checks" in r.outcome.message for r in window.model.rows())
    counts = window.status_panel.counts.text()
    assert "2 waiting for their checks" in counts and "sending" not in counts, counts
    assert "last session" in window.notice.text()
    qtbot.waitUntil(lambda: window.banner.note is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    assert not window.status_panel.upload.isEnabled()  # not before the patient is confirmed
    assert not upload_requests(sandbox)

    qtbot.mouseClick(window.banner.confirm_box, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(window.status_panel.upload.isEnabled, timeout=TIMEOUT_MS)
    qtbot.mouseClick(window.status_panel.upload, Qt.MouseButton.LeftButton)

    def settled() -> bool:
        by_name = {r.path.name: r.state for r in window.model.rows()}
        return by_name == {"right.jpg": "verified", "wrong.jpg": "cancelled"}

    qtbot.waitUntil(settled, timeout=60_000)
    stopped = next(r for r in window.model.rows() if r.path.name == "wrong.jpg")
    assert "999999" in stopped.error and stopped.next_step
    assert len(sandbox.uploads()) == 1  # the right photo only
    assert len(upload_requests(sandbox)) == 1
