"""Recovery without dead ends, as a nurse meets it in demo mode over the real sandbox: a note
signed or deleted while photos were on their way, moving the failed photos to another note
with a fresh confirmation, error panels that go when their reason does, and a new API key used
at once by every upload worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent
from PySide6.QtWidgets import QApplication, QCheckBox, QMenu, QWidget

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, add_photos, states, upload_requests
from tests.gui.picking import note_ids, notes_of, pick_note, pick_patient


def _click(qtbot: Any, widget: QWidget) -> None:
    """A left click in the middle of a widget, as a person clicks it."""
    assert widget.isVisible() and widget.isEnabled(), widget.objectName()
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=widget.rect().center())


def _tick(qtbot: Any, box: QCheckBox) -> None:
    """Tick the confirmation box with a click on its indicator."""
    assert box.isEnabled() and not box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))
    assert box.isChecked()


def _confirmed_batch(
    qtbot: Any, ctx: Any, sandbox: SandboxServer, folder: Path, note_id: str, count: int = 2
) -> None:
    """Photos dropped, Rivera picked by keys and clicks, the note picked, the patient confirmed."""
    window = ctx.window
    window.activateWindow()  # shortcuts and focus as on a desk: the window is the active one
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT_MS)
    add_photos(qtbot, window, folder, count)
    pick_patient(qtbot, window, sandbox, "Rivera")
    pick_note(qtbot, window, note_id)
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    _tick(qtbot, window.banner.confirm_box)


def _upload_while_paused(qtbot: Any, ctx: Any, change_server: Any) -> None:
    """Press Upload; the server changes (``change_server``) before the photos go out."""
    window = ctx.window
    ctx.engine.pause()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        _click(qtbot, window.status_panel.upload)
    change_server()
    with qtbot.waitSignal(ctx.bridge.batch_finished, timeout=60_000):
        ctx.engine.resume()


def _signed_on_the_way(
    qtbot: Any, ctx: Any, sandbox: SandboxServer, folder: Path, count: int
) -> list[str]:
    """A confirmed batch for Rivera's open note, signed while the photos wait to go out: every
    photo fails with 409 and the error panel shows. Returns the row states."""
    note_id = sandbox.demo.open_note_id
    window = ctx.window
    _confirmed_batch(qtbot, ctx, sandbox, folder, note_id, count=count)
    _upload_while_paused(
        qtbot, ctx, lambda: sandbox.demo.note(note_id).__setitem__("status", "signed")
    )
    qtbot.waitUntil(lambda: states(window) == ["failed"] * count, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.status_panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    # The engine fails the note's other photos without sending them once the server said 409.
    assert {r["status"] for r in upload_requests(sandbox)} == {409}
    return states(window)


def _images_per_note(sandbox: SandboxServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for image in sandbox.uploads():
        counts[image["noteId"]] = counts.get(image["noteId"], 0) + 1
    return counts


def test_signed_note_moves_the_failed_photos_to_another_note_with_a_fresh_confirmation(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    old_note = sandbox.demo.open_note_id
    (new_note,) = [n for n in notes_of(sandbox, "Rivera") if n != old_note]
    sandbox.demo.note(new_note)["status"] = "awaiting_sign"  # Rivera's other visit, still open
    ctx = make_app()
    window = ctx.window
    _signed_on_the_way(qtbot, ctx, sandbox, tmp_path / "cam", 2)

    # The banner reads the note again: it says signed, never "awaiting sign" any more.
    banner = window.banner
    qtbot.waitUntil(lambda: banner.note is not None and banner.note.is_locked, timeout=TIMEOUT_MS)
    assert "awaiting sign" not in banner.details_label.text().lower()
    assert "signed" in banner.details_label.text().lower()
    assert banner.locked_label.isVisible() and not banner.confirm_box.isEnabled()
    assert not window.status_panel.upload.isEnabled()
    assert "signed" in window.status_panel.upload_hint.text()
    listed = window.target.notes.item(note_ids(window.target.notes).index(old_note)).text()
    assert "Signed" in listed and "Awaiting sign" not in listed

    # "Choose another note": the failed photos wait, not sent, for the note picked next.
    panel = window.status_panel
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    assert panel.error_action.text() == "Choose another note"
    _click(qtbot, panel.error_action)
    qtbot.waitUntil(lambda: states(window) == ["staged", "staged"], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "another note" in window.notice.text(), timeout=TIMEOUT_MS)
    assert window.notice.isVisible()
    assert not panel.error_panel.isVisible()  # the refused photos' error left with them
    assert QApplication.focusWidget() is window.target.notes  # next: the patient's other notes

    # The other note of the same patient, picked with a click: a fresh confirmation is needed.
    pick_note(qtbot, window, new_note)
    assert not panel.error_panel.isVisible()  # the old note's error went with it
    assert not banner.is_confirmed and not window.status_panel.upload.isEnabled()
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    _tick(qtbot, banner.confirm_box)
    # The photos were taken on the first visit's day: the checks hold them for this visit
    # until the nurse says they belong here.
    qtbot.waitUntil(lambda: window.held_ack.box.isVisible(), timeout=TIMEOUT_MS)
    assert not window.status_panel.upload.isEnabled()
    _tick(qtbot, window.held_ack.box)
    qtbot.waitUntil(lambda: window.status_panel.upload.isEnabled(), timeout=TIMEOUT_MS)
    assert "Upload 2 photos to Rivera" in window.status_panel.upload.text()
    _click(qtbot, window.status_panel.upload)
    qtbot.waitUntil(lambda: states(window) == ["verified", "verified"], timeout=60_000)

    assert _images_per_note(sandbox) == {new_note: 2}  # the new note has them, the old none
    assert all(r.note_id == new_note for r in window.model.rows())


def test_send_to_another_note_from_the_photo_menu(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The row's context menu does the same for the clicked failed photo only."""
    ctx = make_app()
    window = ctx.window
    _signed_on_the_way(qtbot, ctx, sandbox, tmp_path / "cam", 2)
    table = window.table
    row_rect = table.visualRect(window.model.index(0, 0))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=row_rect.center())
    assert window.selected_indexes() == [0]
    at = row_rect.center()
    menu_event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse,
        at,
        table.viewport().mapToGlobal(at),
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(table.viewport(), menu_event)  # a right-click on the row
    qtbot.waitUntil(lambda: isinstance(QApplication.activePopupWidget(), QMenu), timeout=TIMEOUT_MS)
    menu = QApplication.activePopupWidget()
    assert window.move_action in menu.actions() and window.move_action.isEnabled()
    qtbot.mouseClick(
        menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(window.move_action).center()
    )
    qtbot.waitUntil(lambda: sorted(states(window)) == ["failed", "staged"], timeout=TIMEOUT_MS)
    assert not sandbox.uploads()


def test_deleted_note_shows_on_the_banner_and_upload_refuses_with_the_reason(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    old_note = sandbox.demo.open_note_id
    ctx = make_app()
    window = ctx.window
    _confirmed_batch(qtbot, ctx, sandbox, tmp_path / "cam", old_note, count=1)

    def delete() -> None:
        sandbox.demo.notes.remove(sandbox.demo.note(old_note))

    _upload_while_paused(qtbot, ctx, delete)
    qtbot.waitUntil(lambda: states(window) == ["failed"], timeout=TIMEOUT_MS)
    assert [r["status"] for r in upload_requests(sandbox)] == [404]
    banner = window.banner
    qtbot.waitUntil(lambda: banner.note_gone, timeout=TIMEOUT_MS)
    assert "no longer exists" in banner.locked_label.text()
    assert banner.locked_label.isVisible()
    assert "awaiting sign" not in banner.details_label.text().lower()
    assert not banner.confirm_box.isEnabled() and not banner.is_confirmed
    listed = window.target.notes.item(note_ids(window.target.notes).index(old_note)).text()
    assert "Not found" in listed and "Awaiting sign" not in listed

    # More photos for the same note: Upload refuses and says why.
    add_photos(qtbot, window, tmp_path / "more", 1)
    assert not window.status_panel.upload.isEnabled() and not window.upload_action.isEnabled()
    assert "no longer exists" in window.status_panel.upload_hint.text()
    assert len(upload_requests(sandbox)) == 1


def test_error_panel_clears_after_a_successful_retry(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The note was signed while the photo was on its way; the provider reopens it for an
    addendum, the nurse retries: the photo is sent and its error panel goes."""
    old_note = sandbox.demo.open_note_id
    ctx = make_app()
    window = ctx.window
    _signed_on_the_way(qtbot, ctx, sandbox, tmp_path / "cam", 1)
    panel = window.status_panel
    sandbox.demo.note(old_note)["status"] = "awaiting_sign"
    window.select_row(0)
    _click(qtbot, window.retry_button)
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)
    assert not panel.error_panel.isVisible()
    assert [r["status"] for r in upload_requests(sandbox)][-1] == 200


def test_another_patients_error_does_not_stay_under_the_new_banner(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Rivera's refused photo leaves its error; picking Okafor's note takes it away."""
    ctx = make_app()
    window = ctx.window
    _signed_on_the_way(qtbot, ctx, sandbox, tmp_path / "cam", 1)
    panel = window.status_panel
    assert "IMG_0000" in panel.error_text.text()
    (okafor_note,) = notes_of(sandbox, "Okafor")
    pick_patient(qtbot, window, sandbox, "Okafor")
    assert not panel.error_panel.isVisible()  # no Rivera error under Okafor's banner
    pick_note(qtbot, window, okafor_note)
    assert "Okafor" in window.banner.name_label.text()
    assert not panel.error_panel.isVisible()
    # Rivera's row still says what happened, and selecting it shows the reason again.
    window.table.clearSelection()
    window.select_row(0)
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    # Okafor's new photo: a click on it takes Rivera's error away again.
    add_photos(qtbot, window, tmp_path / "okafor", 1)
    new = next(i for i, r in enumerate(window.model.rows()) if r.is_staged)
    rect = window.table.visualRect(window.model.index(new, 0))
    qtbot.mouseClick(window.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.selected_indexes() == [new]
    assert not panel.error_panel.isVisible()


def _save_key_in_settings(qtbot: Any, ctx: Any, key: str) -> None:
    """Settings (Ctrl+,) open: type the key, click Save."""
    dialog = ctx.settings_dialog
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=TIMEOUT_MS)
    dialog.key.setFocus()
    qtbot.keyClicks(dialog.key, key)
    with qtbot.waitSignal(dialog.saved, timeout=TIMEOUT_MS):
        _click(qtbot, dialog.buttons.button(dialog.buttons.StandardButton.Save))


def _another_batch(qtbot: Any, ctx: Any, sandbox: SandboxServer, folder: Path, count: int) -> None:
    """Photos dropped; the note picked again if a key change ended it; confirmed; Upload."""
    window = ctx.window
    add_photos(qtbot, window, folder, count)
    if window.banner.note is None:
        pick_patient(qtbot, window, sandbox, "Rivera")
        pick_note(qtbot, window, sandbox.demo.open_note_id)
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.banner.confirm_box.isEnabled(), timeout=TIMEOUT_MS)
    _tick(qtbot, window.banner.confirm_box)
    _click(qtbot, window.status_panel.upload)


def _revoke(sandbox: SandboxServer, key: str) -> None:
    with sandbox.keyring.lock:
        del sandbox.keyring.keys[key]


def test_a_new_key_saved_in_settings_is_used_by_retry_and_the_next_upload(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A revoked key: 401, a good key saved in Settings, Retry sends with it. Then the key is
    replaced again before the old one is revoked: every worker already holds a client with
    the old key, and the next upload still goes with the new one, with no 401 first."""
    ctx = make_app()
    window = ctx.window
    _confirmed_batch(qtbot, ctx, sandbox, tmp_path / "cam", sandbox.demo.open_note_id, count=2)
    _click(qtbot, window.status_panel.upload)
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=60_000)

    # The key is revoked while the next photo waits to go out (after the note was read).
    second_key = "max_dev_ak_" + "n" * 40
    sandbox.add_key(second_key)
    ctx.engine.pause()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        _another_batch(qtbot, ctx, sandbox, tmp_path / "more", 1)
    _revoke(sandbox, sandbox.demo.api_key)
    ctx.engine.resume()
    panel = window.status_panel
    qtbot.waitUntil(lambda: "failed" in states(window), timeout=60_000)
    qtbot.waitUntil(lambda: panel.error_panel.isVisible(), timeout=TIMEOUT_MS)
    assert "API key" in panel.error_text.text()
    assert panel.error_action.text() == "Open Settings…"
    assert upload_requests(sandbox)[-1]["status"] == 401

    _click(qtbot, panel.error_action)  # "Open Settings…"
    _save_key_in_settings(qtbot, ctx, second_key)
    assert not panel.error_panel.isVisible()  # the rejected key it spoke of is replaced
    window.select_row(states(window).index("failed"))
    _click(qtbot, window.retry_button)
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 3, timeout=60_000)
    assert upload_requests(sandbox)[-1]["status"] == 200

    # The clinic rotates the key: the new one is saved first, then the old one revoked.
    third_key = "max_dev_ak_" + "t" * 40
    sandbox.add_key(third_key)
    window.settings_action.trigger()
    _save_key_in_settings(qtbot, ctx, third_key)
    _revoke(sandbox, second_key)
    before = len(upload_requests(sandbox))
    _another_batch(qtbot, ctx, sandbox, tmp_path / "third", 2)
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 5, timeout=60_000)
    assert [r["status"] for r in upload_requests(sandbox)[before:]] == [200, 200]


def test_a_note_deleted_before_upload_is_shown_gone_and_nothing_is_queued(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The note is read again when Upload is pressed; gone by then, it is refused, the banner
    says so and the photos stay listed, not sent."""
    note_id = sandbox.demo.open_note_id
    ctx = make_app()
    window = ctx.window
    _confirmed_batch(qtbot, ctx, sandbox, tmp_path / "cam", note_id, count=1)
    sandbox.demo.notes.remove(sandbox.demo.note(note_id))
    _click(qtbot, window.status_panel.upload)
    qtbot.waitUntil(lambda: window.banner.note_gone, timeout=TIMEOUT_MS)
    assert window.status_panel.error_action.text() == "Choose another note"
    assert "no longer exists" in window.status_panel.upload_hint.text()
    assert states(window) == ["staged"] and not upload_requests(sandbox)
    _click(qtbot, window.status_panel.error_action)
    qtbot.waitUntil(lambda: "another note" in window.notice.text(), timeout=TIMEOUT_MS)
    assert QApplication.focusWidget() is window.target.notes
