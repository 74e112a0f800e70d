"""What the window says and offers for 401, 403, 409, 429 and 502 answers (real sandbox)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtWidgets import QMessageBox

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import (
    TIMEOUT_MS,
    ready_to_upload,
    states,
    upload_requests,
)
from tests.gui.test_honest_statuses import assert_line_matches_rows


def _click(box: QMessageBox, text: str) -> None:
    button = next(b for b in box.buttons() if b.text() == text)
    button.click()


def test_401_rejected_key_points_to_settings_and_keeps_the_photos(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam")
    # The key is revoked after the patient was confirmed.
    ctx.key_store.set(sandbox.base_url, sandbox.demo.org_id, "max_dev_ak_" + "x" * 40)
    ctx.connection.update(ctx.connection.settings)
    window.status_panel.upload.click()
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    assert "did not accept the API key" in panel.error_text.text()
    assert panel.error_action.text() == "Open Settings…"
    assert not upload_requests(sandbox)
    assert len(window.model.staged_rows()) == 1
    panel.error_action.click()
    assert ctx.settings_dialog is not None and ctx.settings_dialog.isVisible()
    ctx.settings_dialog.close()


def test_403_missing_write_scope_names_it_and_points_to_settings(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app(key=sandbox.demo.readonly_key)
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam")
    window.upload()
    qtbot.waitUntil(lambda: states(window) == ["failed"], timeout=TIMEOUT_MS)
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    text = panel.error_text.text()
    assert "write:notes" in text
    assert "trace_id" not in text  # plain words on screen; the id is for support
    assert panel.error_action.text() == "Open Settings…"
    row = window.model.rows()[0]
    assert row.trace_id and row.trace_id not in text
    # Copy details puts the trace id on the clipboard for support.
    panel.error_copy.click()
    from PySide6.QtGui import QGuiApplication

    assert row.trace_id in QGuiApplication.clipboard().text()
    assert not sandbox.uploads()


def test_409_signed_note_from_the_server_offers_another_note(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The note is signed between the check and the upload: the server's 409 is final."""
    ctx = make_app()
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam")
    ctx.engine.pause()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        window.upload()
    sandbox.demo.note(sandbox.demo.open_note_id)["status"] = "signed"
    ctx.engine.resume()
    qtbot.waitUntil(lambda: states(window) == ["failed"], timeout=TIMEOUT_MS)
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    assert "signed" in panel.error_text.text()
    assert panel.error_action.text() == "Choose another note"
    assert [r["status"] for r in upload_requests(sandbox)] == [409]
    panel.error_action.click()
    assert not window.banner.is_confirmed


def test_429_shows_a_countdown_and_sends_by_itself(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", 2)
    sandbox.set_faults(rate_limit_burst=2, retry_after_s=2)
    window.upload()
    rate = window.status_panel.rate
    qtbot.waitUntil(lambda: rate.isVisible(), timeout=TIMEOUT_MS)
    assert "resumes in" in rate.text()
    # Waiting out the limit is blue (nothing for the user to do), and counted as the rows say.
    assert_line_matches_rows(window)
    assert all(r.status.tone in ("busy", "neutral", "success") for r in window.model.rows())
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=60_000)
    assert_line_matches_rows(window)
    qtbot.waitUntil(lambda: not rate.isVisible(), timeout=TIMEOUT_MS)
    assert any(r["status"] == 429 for r in sandbox.request_log())
    assert len(sandbox.uploads()) == 2


def test_502_needs_a_decision_and_send_again_warns_first(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam")
    sandbox.set_faults(ehr_fail=1)
    window.upload()
    qtbot.waitUntil(lambda: states(window) == ["needs_decision"], timeout=TIMEOUT_MS)
    row = window.model.rows()[0]
    assert "may be stored" in row.status.label
    assert row.status.tone == "error"
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    assert "EHR" in panel.error_text.text()
    assert panel.error_action.text() == "Send again…"
    assert len(upload_requests(sandbox)) == 1  # never re-sent by itself

    # First answer "Don't send": nothing happens.
    with qtbot.waitSignal(window.question_shown, timeout=TIMEOUT_MS) as asked:
        panel.error_action.click()
    box = asked.args[0]
    assert "second copy" in box.text()
    _click(box, "Don't send")
    qtbot.wait(200)
    assert states(window) == ["needs_decision"]
    assert len(upload_requests(sandbox)) == 1

    # Then "Send again": a second copy is sent, knowingly.
    window.select_row(0)
    with qtbot.waitSignal(window.question_shown, timeout=TIMEOUT_MS) as asked:
        window.send_again_button.click()
    _click(asked.args[0], "Send again")
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)
    assert len(upload_requests(sandbox)) == 2
