"""Uploads are possible only for a patient the user confirmed, for that exact note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import (
    TIMEOUT_MS,
    add_photos,
    choose_note,
    ready_to_upload,
    upload_requests,
)


def test_upload_needs_confirmation_and_a_new_note_clears_it(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    upload = window.status_panel.upload
    add_photos(qtbot, window, tmp_path / "cam", 2)
    assert not upload.isEnabled()
    assert "note" in window.status_panel.upload_hint.text()

    choose_note(qtbot, window, sandbox.demo.open_note_id)
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    # The banner shows who the photos go to, before anything can be sent.
    patient = sandbox.demo.note(sandbox.demo.open_note_id)["patient"]
    assert patient["lastName"] in window.banner.name_label.text()
    details = window.banner.details_label.text()
    assert "DOB" in details and "MRN" in details and "Visit" in details
    # The provider defaults to the one assigned to the note.
    assert window.target.current_provider().id == sandbox.demo.provider_id
    assert not upload.isEnabled()
    assert "confirm" in window.status_panel.upload_hint.text().lower()
    window.upload()  # the shortcut path refuses too
    assert window.model.staged_rows() and not upload_requests(sandbox)

    window.banner.confirm_box.click()
    assert upload.isEnabled()
    assert upload.text() == "Upload 2 photos to Rivera, Elena"

    # Picking another note (even of the same patient) clears the confirmation.
    other = next(
        (
            n["id"]
            for n in sandbox.demo.notes
            if n["patient"]["id"] == patient["id"] and n["id"] != sandbox.demo.open_note_id
        ),
        sandbox.demo.signed_note_id,
    )
    window.target.open_note(other)
    qtbot.waitUntil(lambda: window.banner.note.id == other, timeout=TIMEOUT_MS)
    assert not window.banner.is_confirmed
    assert not window.banner.confirm_box.isChecked()
    assert not upload.isEnabled()


def test_signed_note_is_locked_and_refused_before_sending(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    add_photos(qtbot, window, tmp_path / "cam")
    window.target.note_id.setText(sandbox.demo.signed_note_id)
    window.target.open_button.click()
    qtbot.waitUntil(lambda: window.banner.note is not None, timeout=TIMEOUT_MS)
    assert window.banner.note.is_locked
    assert window.banner.locked_label.isVisible()
    assert "signed" in window.banner.locked_label.text()
    assert not window.banner.confirm_box.isEnabled()
    window.banner.confirm_box.click()
    assert not window.banner.is_confirmed
    assert not window.status_panel.upload.isEnabled()
    window.upload_action.trigger()
    window.upload()
    assert window.model.staged_rows()
    assert not upload_requests(sandbox)


def test_note_signed_after_confirmation_is_refused_before_sending(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The server's word on the lock is checked right before queueing (409 flow)."""
    window = make_app().window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam")
    sandbox.demo.note(sandbox.demo.open_note_id)["status"] = "signed"  # signed in the EHR now
    window.status_panel.upload.click()
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    assert "signed" in panel.error_text.text()
    assert panel.error_action.text() == "Choose another note"
    assert not upload_requests(sandbox)
    assert window.model.staged_rows()  # nothing lost: the photos wait for another note
    qtbot.waitUntil(lambda: window.banner.note.is_locked, timeout=TIMEOUT_MS)
    assert not window.banner.is_confirmed
