"""The same picture twice: the copy (not the original) is skipped by default and says so in full;
"Include anyway" (the details panel's button, the menus, Ctrl+I) sends it after all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMenu

from maxupload.gui.photo_model import Column
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, confirm_patient, drop, make_photos
from tests.gui.test_honest_statuses import assert_line_matches_rows, line_by_words, settled
from tests.gui.test_plain_words import assert_plain

IN_BATCH = "Same picture as IMG_0000.JPG, also in this batch; this copy is skipped."


def _drop_with_a_copy(qtbot: Any, window: Any, folder: Path) -> Path:
    photos = make_photos(folder, 2)
    copy = folder / "IMG_0000 copy.JPG"
    copy.write_bytes(photos[0].read_bytes())
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [*photos, copy])
    return copy


def press_ctrl_i(widget: Any) -> None:
    """Ctrl+I as a person types it: Ctrl down, I, Ctrl up (nothing left held for later)."""
    ctrl = Qt.KeyboardModifier.ControlModifier
    QTest.keyPress(widget, Qt.Key.Key_Control, ctrl)
    QTest.keyClick(widget, Qt.Key.Key_I, ctrl)
    QTest.keyRelease(widget, Qt.Key.Key_Control, Qt.KeyboardModifier.NoModifier)
    assert QGuiApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier


def _row_of(window: Any, path: Path) -> int:
    return next(i for i, r in enumerate(window.model.rows()) if r.path == path)


def _click_row(qtbot: Any, window: Any, i: int) -> None:
    table = window.table
    rect = table.visualRect(window.model.index(i, Column.PHOTO))
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert window.selected_indexes() == [i]


def test_a_copy_in_the_batch_is_skipped_in_full_and_included_with_the_keyboard(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    copy = _drop_with_a_copy(qtbot, window, tmp_path / "cam")
    model = window.model
    assert model.rowCount() == 3  # the copy is listed, so it can be included
    i = _row_of(window, copy)
    row = model.row_at(i)
    assert row.status.label == "Skipped: a copy" and row.status.tone == "warning"
    # The warning in full: in the tooltip and for screen readers (the row may cut it short).
    for role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
        assert IN_BATCH in str(model.index(i, Column.STATUS).data(role))
    # The original carries no warning.
    original = model.row_at(_row_of(window, tmp_path / "cam" / "IMG_0000.JPG"))
    assert original.status.label == "Not sent yet" and not original.error
    # Selected, the details panel under the list says it in full and offers the action.
    _click_row(qtbot, window, i)
    panel = window.status_panel
    assert panel.error_panel.isVisible()
    assert IN_BATCH in panel.error_text.text()
    assert_plain(panel.error_text.text(), "duplicate")
    assert panel.error_action.text() == "Include anyway"
    assert panel.error_accent.property("tone") == "warning"  # amber like its row, not red
    assert window.include_copies.action.isEnabled()
    assert line_by_words(window)["skipped (same picture)"] == 1
    assert_line_matches_rows(window)

    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    window.status_panel.upload.click()
    qtbot.waitUntil(lambda: line_by_words(window)["in EHR"] == 2, timeout=60_000)
    qtbot.waitUntil(lambda: settled(window), timeout=TIMEOUT_MS)
    assert len(sandbox.uploads()) == 2  # the copy was not sent
    row = model.row_at(_row_of(window, copy))
    assert row.status.label == "Skipped: a copy" and row.status.tone == "warning"
    assert "EHR push failed" not in row.status.label
    assert "Same picture as IMG_0000.JPG" in row.error
    assert_line_matches_rows(window)
    assert window.status_panel.progress.property("tone") != "warning"  # nothing needs you

    # Include anyway, from the keyboard: the copy is sent after all.
    _click_row(qtbot, window, _row_of(window, copy))
    window.table.setFocus()
    press_ctrl_i(window.table)
    qtbot.waitUntil(lambda: len(sandbox.uploads()) == 3, timeout=60_000)
    qtbot.waitUntil(lambda: line_by_words(window)["in EHR"] == 3, timeout=60_000)
    assert_line_matches_rows(window)


def test_include_anyway_before_upload_sends_both_and_removing_the_original_frees_the_copy(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    copy = _drop_with_a_copy(qtbot, window, tmp_path / "cam")
    _click_row(qtbot, window, _row_of(window, copy))
    window.status_panel.error_action.click()  # "Include anyway" in the details panel
    qtbot.waitUntil(
        lambda: window.model.row_at(_row_of(window, copy)).status.label == "Not sent yet",
        timeout=TIMEOUT_MS,
    )
    panel = window.status_panel.error_panel
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=TIMEOUT_MS)  # no stale warning
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    window.status_panel.upload.click()
    qtbot.waitUntil(lambda: line_by_words(window)["in EHR"] == 3, timeout=60_000)
    assert len(sandbox.uploads()) == 3

    # A new batch: a copy whose original is removed before upload is a photo of its own.
    second = tmp_path / "second"
    copy2 = _drop_with_a_copy(qtbot, window, second)
    i = _row_of(window, copy2)
    assert window.model.row_at(i).status.label == "Skipped: a copy"
    _click_row(qtbot, window, _row_of(window, second / "IMG_0000.JPG"))
    QTest.keyClick(window.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(
        lambda: window.model.row_at(_row_of(window, copy2)).status.label == "Not sent yet",
        timeout=TIMEOUT_MS,
    )


def test_include_anyway_sits_in_the_photos_menu_and_the_context_menu(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    window = make_app().window
    photos_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Photos"
    )
    assert window.include_copies.action in photos_menu.actions()
    assert window.include_copies.action.shortcut().toString() == "Ctrl+I"
    copy = _drop_with_a_copy(qtbot, window, tmp_path / "cam")
    _click_row(qtbot, window, _row_of(window, copy))
    # The context menu key on the selected row opens the row's menu, as a right click does.
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Menu)
    if QApplication.activePopupWidget() is None:  # platforms without a menu key event
        rect = window.table.visualRect(window.model.index(_row_of(window, copy), 0))
        window.table.customContextMenuRequested.emit(rect.center())
    qtbot.waitUntil(lambda: QApplication.activePopupWidget() is not None, timeout=TIMEOUT_MS)
    menu = QApplication.activePopupWidget()
    assert isinstance(menu, QMenu)
    include = next(a for a in menu.actions() if a.text() == "Include anyway")
    assert include.isEnabled()
    while QApplication.activePopupWidget() is not None:
        QApplication.activePopupWidget().close()


def test_a_picture_already_in_the_ehr_is_skipped_on_the_copy_and_can_be_included(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    (photo,) = make_photos(tmp_path / "cam", 1)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [photo])
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    window.status_panel.upload.click()
    qtbot.waitUntil(lambda: line_by_words(window)["in EHR"] == 1, timeout=60_000)

    # The next day's batch holds the same picture again, under another name.
    again = tmp_path / "later" / "wound-left-arm.jpg"
    again.parent.mkdir()
    again.write_bytes(photo.read_bytes())
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [again])
    box = window.banner.confirm_box
    qtbot.waitUntil(lambda: box.isEnabled() and not box.isChecked(), timeout=TIMEOUT_MS)
    box.click()
    window.status_panel.upload.click()
    qtbot.waitUntil(
        lambda: any(r.path == again and r.is_skipped_copy for r in window.model.rows()),
        timeout=TIMEOUT_MS,
    )
    assert len(sandbox.uploads()) == 1  # not sent again by default
    row = window.model.row_at(_row_of(window, again))
    assert row.status.label == "Skipped: a copy" and row.status.tone == "warning"
    assert row.error.startswith("Same picture as IMG_0000.JPG, already sent to this note on")
    assert_plain(row.error, "already_sent")
    assert_line_matches_rows(window)

    _click_row(qtbot, window, _row_of(window, again))
    window.table.setFocus()
    press_ctrl_i(window.table)
    qtbot.waitUntil(lambda: len(sandbox.uploads()) == 2, timeout=60_000)
    qtbot.waitUntil(lambda: line_by_words(window)["in EHR"] == 2, timeout=60_000)
    assert_line_matches_rows(window)
