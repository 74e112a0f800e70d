"""The whole walk against the sandbox: drop, confirm, upload, verified, stored copy shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QGuiApplication

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import (
    TIMEOUT_MS,
    confirm_patient,
    drop,
    make_photos,
    ready_to_upload,
    states,
    upload_requests,
)


def test_drop_confirm_upload_verified_with_signed_preview(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    photos = make_photos(tmp_path / "visit", 3, size=(1600, 1200))
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [tmp_path / "visit"])
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    assert window.status_panel.upload.text() == "Upload 3 photos to Rivera, Elena"

    progress: list[dict[int, tuple[int, int]]] = []
    ctx.bridge.progress.connect(progress.append)
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS) as queued:
        window.upload_action.trigger()
    assert len(queued.args[0]) == 3
    assert not window.model.staged_rows()

    with qtbot.waitSignal(ctx.bridge.batch_finished, timeout=60_000):
        pass
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 3, timeout=TIMEOUT_MS)
    assert "3 in EHR" in window.status_panel.counts.text()
    assert window.status_panel.progress.value() == window.status_panel.progress.maximum() == 3
    assert "In EHR" in window.model.rows()[0].status.label
    uploads = sandbox.uploads()
    assert len(uploads) == 3 == len(upload_requests(sandbox))
    # Byte progress reached the window (throttled, as plain Python values).
    assert any(sent == total > 0 for p in progress for sent, total in p.values())
    # Every row knows what was sent (size after) and where it is stored.
    for row in window.model.rows():
        assert row.size_after and not row.size_after_is_estimate
        assert row.image_id and row.note_id == sandbox.demo.open_note_id
    # The finished batch was announced (tray or in-window banner).
    assert window.notice.isVisible() or ctx.notifier.uses_tray

    # Selecting a photo shows its stored copy, fetched through the signed URL.
    window.select_row(1)
    preview = window.preview
    with qtbot.waitSignal(preview.stored_shown, timeout=TIMEOUT_MS) as shown:
        pass
    assert shown.args == [window.model.rows()[1].image_id]
    assert preview.stored.has_image()
    assert preview.open_button.isEnabled() and preview.copy_button.isEnabled()
    signed = preview.signed_url()
    assert signed is not None and signed.url.startswith(sandbox.root_url)
    preview.copy_button.click()
    assert QGuiApplication.clipboard().text() == signed.url
    assert "valid until" in preview.stored_status.text() or "copied" in preview.stored_status.text()
    # The originals were never touched.
    assert all(p.exists() for p in photos)


def test_pending_upload_status_is_amber_not_green(
    qtbot: Any, make_app: Any, make_sandbox: Any, tmp_path: Path
) -> None:
    server = make_sandbox(upload_status="pending_upload")
    ctx = make_app(server=server)
    window = ctx.window
    ready_to_upload(qtbot, window, server, tmp_path / "cam")
    window.upload()
    qtbot.waitUntil(
        lambda: states(window) == ["verified"] and bool(window.model.rows()[0].server_status),
        timeout=60_000,
    )
    status = window.model.rows()[0].status
    assert "not confirmed in the EHR" in status.label
    assert status.tone == "warning"


def test_expired_signed_link_is_renewed_before_copying(
    qtbot: Any, make_app: Any, make_sandbox: Any, tmp_path: Path
) -> None:
    # A link that lives 5 s is already inside the window's one-minute renewal margin, so any
    # copy renews it; 5 s (not 1 s) leaves the engine's own verification time to download.
    server = make_sandbox(url_ttl_s=5)
    ctx = make_app(server=server)
    window = ctx.window
    ready_to_upload(qtbot, window, server, tmp_path / "cam")
    window.upload()
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)
    window.select_row(0)
    preview = window.preview
    qtbot.waitUntil(lambda: preview.signed_url() is not None, timeout=TIMEOUT_MS)
    first = preview.signed_url()
    assert first is not None
    url_requests = len([r for r in server.request_log() if r["path"].endswith("/url")])
    QGuiApplication.clipboard().clear()
    qtbot.wait(1100)  # the renewed link gets a later X-Amz-Date (one-second resolution)
    preview.copy_button.click()  # about to expire: a new link is fetched first, then copied
    qtbot.waitUntil(
        lambda: QGuiApplication.clipboard().text().startswith(server.root_url), timeout=TIMEOUT_MS
    )
    renewed = preview.signed_url()
    assert renewed is not None and renewed.expires_at > first.expires_at
    assert QGuiApplication.clipboard().text() == renewed.url != first.url
    assert len([r for r in server.request_log() if r["path"].endswith("/url")]) > url_requests
