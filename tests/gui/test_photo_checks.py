"""The window's side of the photo checks, driven as a person does: drop photos, pick and confirm
the patient, press Ctrl+U, tick "Send photos from another day" with the mouse.

The photos carry real EXIF capture times and real barcodes (``tests.plugins.photo_checks``),
judged by the product's own checks, which the window reaches only through the core service.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt

from maxupload.core.api.client import ApiClient
from maxupload.core.checks.photo import CheckCode
from maxupload.core.queue.model import ItemState
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, close_app, confirm_patient, drop
from tests.plugins.photo_checks import write_checked_photo


def _visit(srv: SandboxServer) -> tuple[datetime, str]:
    with ApiClient(srv.base_url, srv.demo.api_key, srv.demo.org_id) as client:
        note = client.get_note(srv.demo.open_note_id)
    assert note.visit_datetime is not None and note.patient is not None
    return note.visit_datetime.replace(tzinfo=None), str(note.patient.mrn)


def _row(window: Any, name: str) -> Any:
    return next(r for r in window.model.rows() if r.name == name)


def _press_upload(qtbot: Any, window: Any) -> Any:
    window.activateWindow()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS) as queued:
        press_ctrl_u(qtbot, window)
    return queued.args[0]


def press_ctrl_u(qtbot: Any, window: Any) -> None:
    """Ctrl+U as typed: Ctrl down, U, Ctrl up (so Ctrl is not left held for later clicks)."""
    qtbot.keyPress(window, Qt.Key.Key_Control)
    qtbot.keyClick(window, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyRelease(window, Qt.Key.Key_Control)


def test_held_and_blocked_photos_are_shown_and_never_sent_unasked(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    visit, mrn = _visit(sandbox)
    folder = tmp_path / "batch"
    write_checked_photo(folder / "label.jpg", visit, label=f"MRN:{mrn}", seed=1)
    write_checked_photo(folder / "wound.jpg", visit, seed=2)
    write_checked_photo(folder / "old.jpg", visit - timedelta(days=37), seed=3)
    write_checked_photo(folder / "other.jpg", visit, label="MRN:999999", seed=4)
    window = make_app().window
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [folder])
    assert not window.held_ack.isVisible()  # nothing is held before a note is chosen

    confirm_patient(qtbot, window, sandbox.demo.open_note_id)

    # The findings show before anything is sent: in the rows, the box, the banner's badge.
    # (each photo is read in its own job, so they are judged one by one)
    def judged() -> bool:
        stops = {n: _row(window, n).check_stop for n in ("old.jpg", "other.jpg")}
        matched = [f.code for f in _row(window, "label.jpg").findings]
        return all(stops.values()) and CheckCode.LABEL_MATCH in matched

    qtbot.waitUntil(judged, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.held_ack.isVisible(), timeout=TIMEOUT_MS)
    assert "37 days before this visit" in _row(window, "old.jpg").status.label
    assert _row(window, "other.jpg").status.label.startswith("Not sent to this patient")
    assert "MRN 999999" in _row(window, "other.jpg").status.label
    # Another patient's label in the batch: the banner warns instead of reassuring.
    assert window.banner.label_match.text() == (
        "A photo shows another patient's label: not sent to this patient"
    )
    assert window.banner.label_match.isVisible()

    _press_upload(qtbot, window)
    qtbot.waitUntil(lambda: _row(window, "wound.jpg").state == ItemState.VERIFIED, timeout=60_000)
    qtbot.waitUntil(lambda: _row(window, "label.jpg").state == ItemState.VERIFIED, timeout=60_000)
    assert len(sandbox.uploads()) == 2
    assert _row(window, "old.jpg").is_staged and _row(window, "other.jpg").is_staged
    # Told in plain words, also once the batch is finished.
    qtbot.waitUntil(lambda: "held back" in window.notice.text(), timeout=TIMEOUT_MS)

    # The user checks the old photo and acknowledges it for this batch, with the mouse.
    assert window.held_ack.isVisible() and not window.held_ack.box.isChecked()
    box = window.held_ack.box
    on_box = QPoint(8, box.height() // 2)  # on the tick box itself, not the empty space after it
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, on_box)
    assert window.held_ack.box.isChecked()
    # The first batch is done, so its patient confirmation ended: confirm again to send more.
    qtbot.waitUntil(lambda: not window.banner.is_confirmed, timeout=TIMEOUT_MS)
    assert not window.status_panel.upload.isEnabled()
    window.banner.confirm_box.click()
    _press_upload(qtbot, window)
    qtbot.waitUntil(lambda: _row(window, "old.jpg").state == ItemState.VERIFIED, timeout=60_000)
    assert len(sandbox.uploads()) == 3
    # Another patient's label never goes, acknowledged or not.
    assert _row(window, "other.jpg").is_staged
    assert not window.held_ack.isVisible() and not window.held_ack.box.isChecked()


def test_added_photos_are_still_listed_after_a_restart(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    visit, _mrn = _visit(sandbox)
    path = write_checked_photo(tmp_path / "cam" / "a.jpg", visit, seed=5)
    ctx = make_app()
    with qtbot.waitSignal(ctx.window.intake_done, timeout=TIMEOUT_MS):
        drop(ctx.window, [path])
    queue = ctx.store.path
    close_app(ctx)  # as after a crash: nothing was sent, the photo was only added

    window = make_app(queue_path=queue).window
    qtbot.waitUntil(lambda: window.model.rowCount() == 1, timeout=TIMEOUT_MS)
    row = window.model.row_at(0)
    assert row.is_staged and row.path == path
    assert "not sent yet" in window.notice.text()
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    _press_upload(qtbot, window)
    qtbot.waitUntil(lambda: window.model.row_at(0).state == ItemState.VERIFIED, timeout=60_000)
    assert len(sandbox.uploads()) == 1
