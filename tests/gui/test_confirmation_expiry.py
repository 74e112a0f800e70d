"""A patient confirmation covers one batch and expires: batch finished, photos added, idle time,
restored queue, and any change of organization, environment or key."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from maxupload.core.checks.confirmation import Expiry
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import (
    TIMEOUT_MS,
    add_photos,
    choose_note,
    confirm_patient,
    make_photos,
    ready_to_upload,
    states,
)
from tests.gui.picking import queued_earlier


def press_upload_keys(qtbot: Any, window: Any) -> None:
    """Ctrl+U, as a person presses it (the shortcut path, not the button)."""
    window.activateWindow()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier)


def click_upload(qtbot: Any, window: Any) -> None:
    qtbot.mouseClick(window.status_panel.upload, Qt.MouseButton.LeftButton)


def upload_and_wait_verified(qtbot: Any, window: Any) -> None:
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        click_upload(qtbot, window)
    qtbot.waitUntil(
        lambda: states(window) and all(s == "verified" for s in states(window)), timeout=60_000
    )


def ended_by(window: Any, reason: Expiry) -> bool:
    return not window.banner.is_confirmed and window.confirmation.rules.last_expiry == reason


def test_comes_back_after_a_finished_batch(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A verified batch for Rivera; photos dropped next need a new confirmation."""
    window = make_app().window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "first", 2)
    upload_and_wait_verified(qtbot, window)
    assert len(sandbox.uploads()) == 2
    qtbot.waitUntil(lambda: ended_by(window, Expiry.BATCH_FINISHED), timeout=TIMEOUT_MS)
    assert not window.banner.confirm_box.isChecked()
    assert not window.status_panel.upload.isEnabled()

    # The next patient's photos are dropped: nothing goes out under the old confirmation.
    add_photos(qtbot, window, tmp_path / "next", 3)
    assert not window.status_panel.upload.isEnabled()
    assert "batch is done" in window.status_panel.upload_hint.text()
    first_new = next(i for i, r in enumerate(window.model.rows()) if r.is_staged)
    header = window.model.header_text(first_new)
    assert header.startswith("New photos, not queued yet"), header
    press_upload_keys(qtbot, window)
    click_upload(qtbot, window)
    window.upload()
    assert len(window.model.staged_rows()) == 3
    assert len(sandbox.uploads()) == 2

    # A new, deliberate confirmation sends exactly the new photos.
    window.banner.confirm_box.click()
    assert window.status_panel.upload.text() == "Upload 3 photos to Rivera, Elena"
    upload_and_wait_verified(qtbot, window)
    assert len(sandbox.uploads()) == 5


def test_photos_added_after_confirming_end_it(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 2)
    covered = set(window.confirmation.rules.current.photos)
    assert covered == {r.key for r in window.model.staged_rows()}
    add_photos(qtbot, window, tmp_path / "later", 1)
    assert ended_by(window, Expiry.PHOTOS_ADDED)
    assert "added after you confirmed" in window.notice.text()
    assert window.notice.isVisible()
    press_upload_keys(qtbot, window)
    assert not sandbox.uploads()
    window.banner.confirm_box.click()
    assert window.status_panel.upload.text() == "Upload 3 photos to Rivera, Elena"


def test_confirmation_ends_after_the_idle_time(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app(start=False)
    ctx.connection.update(replace(ctx.connection.settings, confirm_idle_seconds=1))
    ctx.start()
    qtbot.waitExposed(ctx.window)
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 2)
    assert window.banner.is_confirmed
    qtbot.waitUntil(lambda: ended_by(window, Expiry.IDLE), timeout=TIMEOUT_MS)
    assert "1 second without an upload" in window.notice.text()
    assert not window.status_panel.upload.isEnabled()
    click_upload(qtbot, window)
    assert not sandbox.uploads()


def test_a_restored_queue_ends_the_confirmation(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Photos queued in an earlier session come back: a confirmation given meanwhile ends."""
    queue = tmp_path / "queue.sqlite3"
    queued_earlier(
        queue,
        sandbox,
        sandbox.demo.open_note_id,
        make_photos(tmp_path / "old", 2),
        "Rivera, Elena (MRN MM0000000101, DOB 1984-02-17)",
    )

    ctx = make_app(queue_path=queue, start=False)
    window = ctx.window
    window.show()
    qtbot.waitExposed(window)
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 1)
    assert window.banner.is_confirmed
    with qtbot.waitSignal(window.restored, timeout=TIMEOUT_MS):
        ctx.start()
    assert ended_by(window, Expiry.QUEUE_RESTORED)
    assert not window.status_panel.upload.isEnabled()
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    window.banner.confirm_box.click()
    # The new confirmation covers the added photo and the two restored for this note.
    assert window.status_panel.upload.text() == "Upload 3 photos to Rivera, Elena"
    assert not sandbox.uploads()


@pytest.mark.parametrize("field", ["key", "org", "env"])
def test_a_new_key_organization_or_environment_ends_the_confirmation(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path, field: str
) -> None:
    ctx = make_app()
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 1)
    ctx.open_settings()
    dialog = ctx.settings_dialog
    qtbot.waitExposed(dialog)
    edit = {"key": dialog.key, "org": dialog.org, "env": dialog.base_url}[field]
    if field == "env":  # another address: a second sandbox on this computer
        dialog.environment.setCurrentIndex(dialog.environment.findData("custom"))
    edit.setFocus()
    if field == "key":
        qtbot.keyClicks(edit, sandbox.demo.api_key)
    else:
        qtbot.keyClick(edit, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        other = sandbox.demo.other_org_id if field == "org" else "http://127.0.0.1:9/v3"
        qtbot.keyClicks(edit, other)
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT_MS):
        qtbot.mouseClick(
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save),
            Qt.MouseButton.LeftButton,
        )
    assert ended_by(window, Expiry.CONNECTION_CHANGED)
    assert window.banner.note is None
    assert "changed" in window.notice.text()
    click_upload(qtbot, window)
    assert not sandbox.uploads()
    if field == "key":  # same clinic: pick the note again and confirm, and it works again
        choose_note(qtbot, window, sandbox.demo.open_note_id)
        confirm_patient(qtbot, window, sandbox.demo.open_note_id)
        assert window.status_panel.upload.isEnabled()


def test_idle_time_is_a_setting_in_minutes(qtbot: Any, make_app: Any) -> None:
    ctx = make_app()
    ctx.open_settings()
    dialog = ctx.settings_dialog
    qtbot.waitExposed(dialog)
    assert dialog.confirm_idle.value() == 5  # the default: 5 minutes
    assert dialog.confirm_idle.minimum() == 1  # 0 (never) cannot be chosen
    spin = dialog.confirm_idle
    spin.setFocus()
    qtbot.keyClick(spin, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(spin, "2")
    qtbot.keyClick(spin, Qt.Key.Key_Tab)
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT_MS):
        qtbot.mouseClick(
            dialog.buttons.button(QDialogButtonBox.StandardButton.Save),
            Qt.MouseButton.LeftButton,
        )
    assert ctx.connection.settings.confirm_idle_seconds == 120
