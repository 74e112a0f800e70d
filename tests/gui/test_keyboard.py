"""Keyboard only: from an empty window to a verified upload with key presses alone, and the
order in which Tab visits the controls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget

from maxupload.gui.keyboard import window_focus_order
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, make_photos, states

Key = Qt.Key


def focused() -> QWidget:
    widget = QApplication.focusWidget()
    assert widget is not None, "nothing has the keyboard focus"
    return widget


NO_MOD = Qt.KeyboardModifier.NoModifier


def press(qtbot: Any, key: Qt.Key, modifier: Qt.KeyboardModifier = NO_MOD) -> None:
    """Press and release one key on whatever has the focus, as a keyboard would."""
    qtbot.keyClick(focused(), key, modifier)


def owner(widget: QWidget, candidates: list[QWidget]) -> QWidget | None:
    """The control in ``candidates`` that is or contains ``widget`` (an editable combo box
    hands its focus to its line edit)."""
    for c in candidates:
        if widget is c or c.isAncestorOf(widget):
            return c
    return None


def tab_to(qtbot: Any, target: QWidget, limit: int = 40) -> None:
    """Press Tab until ``target`` has the focus (fails after ``limit`` presses)."""
    for _ in range(limit):
        if owner(focused(), [target]) is not None:
            return
        press(qtbot, Key.Key_Tab)
    raise AssertionError(f"Tab never reached {target.objectName() or target}")


def start_with_keyboard(qtbot: Any, make_app: Any) -> Any:
    ctx = make_app()
    window = ctx.window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=TIMEOUT_MS)
    # The window opens with the cursor in the patient search, ready to type.
    qtbot.waitUntil(lambda: focused() is window.target.search, timeout=TIMEOUT_MS)
    return ctx


def pick_note_by_keys(qtbot: Any, window: Any, note_id: str) -> None:
    """Type the name, Return, Tab into the results, Tab into the notes, arrow to ``note_id``."""
    target = window.target
    qtbot.keyClicks(focused(), "Rivera")
    press(qtbot, Key.Key_Return)
    qtbot.waitUntil(lambda: target.patients.count() > 0, timeout=TIMEOUT_MS)
    press(qtbot, Key.Key_Tab)
    assert focused() is target.patients
    # Focus alone picks nothing (no selection by side effect): Space picks the current row.
    assert not target.patients.selectedItems()
    press(qtbot, Key.Key_Space)
    qtbot.waitUntil(lambda: target.notes.count() > 0, timeout=TIMEOUT_MS)
    press(qtbot, Key.Key_Tab)
    assert focused() is target.notes
    assert not target.notes.selectedItems() and window.banner.note is None
    press(qtbot, Key.Key_Space)
    for _ in range(target.notes.count()):
        qtbot.waitUntil(lambda: window.banner.note is not None, timeout=TIMEOUT_MS)
        if window.banner.note.id == note_id:
            break
        press(qtbot, Key.Key_Down)
    assert window.banner.note.id == note_id
    qtbot.waitUntil(lambda: target.current_provider() is not None, timeout=TIMEOUT_MS)


def test_keyboard_only_from_search_to_verified_upload(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = start_with_keyboard(qtbot, make_app)
    window = ctx.window
    first, second = make_photos(tmp_path / "visit", 2, size=(1200, 900))

    pick_note_by_keys(qtbot, window, sandbox.demo.open_note_id)

    # Ctrl+O opens the file dialog; type the file's path and press Return.
    press(qtbot, Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    dialog = window.findChild(QFileDialog)
    qtbot.waitUntil(lambda: dialog is not None and dialog.isVisible(), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: owner(focused(), [dialog]) is not None, timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        qtbot.keyClicks(focused(), str(first))
        press(qtbot, Key.Key_Return)
    assert not dialog.isVisible()
    # Files copied in the file manager are pasted with Ctrl+V.
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(second))])
    QGuiApplication.clipboard().setMimeData(mime)
    window.activateWindow()  # what the desktop does when a dialog closes (offscreen does not)
    qtbot.waitUntil(lambda: window.isActiveWindow() and focused() is not None, timeout=TIMEOUT_MS)
    tab_to(qtbot, window.add_button)  # off the text fields, where Ctrl+V pastes text
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        press(qtbot, Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert [r.path for r in window.model.rows()] == [first, second]

    # Tab to the confirmation box; Space ticks it (no window-wide shortcut takes Space). It
    # confirms the patient for the photos listed now.
    tab_to(qtbot, window.banner.confirm_box)
    press(qtbot, Key.Key_Space)
    assert window.banner.is_confirmed

    # Tab leaves the photo list in one press (it does not walk its cells).
    tab_to(qtbot, window.table)
    press(qtbot, Key.Key_Tab)
    assert owner(focused(), [window.table]) is None

    # Tab to Upload and press Space: the photos go out and are verified.
    upload = window.status_panel.upload
    assert upload.isEnabled() and upload.text().startswith("Upload 2 photos to ")
    tab_to(qtbot, upload)
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        press(qtbot, Key.Key_Space)
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=60_000)
    assert len(sandbox.uploads()) == 2
    QGuiApplication.clipboard().clear()


def test_tab_visits_the_steps_in_order_and_shift_tab_goes_back(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = start_with_keyboard(qtbot, make_app)
    window = ctx.window
    pick_note_by_keys(qtbot, window, sandbox.demo.open_note_id)
    photos = make_photos(tmp_path / "visit", 2)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        window.add_paths(photos)
    tab_to(qtbot, window.banner.confirm_box)
    press(qtbot, Key.Key_Space)
    window.select_row(0)
    qtbot.waitUntil(lambda: window.preview.local.has_image(), timeout=TIMEOUT_MS)

    order = window_focus_order(window)
    expected = [
        w
        for w in order
        if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
    ]
    window.target.search.setFocus(Qt.FocusReason.TabFocusReason)
    seen = [window.target.search]
    for _ in range(len(expected) - 1):
        press(qtbot, Key.Key_Tab)
        stop = owner(focused(), order)
        assert stop is not None, f"Tab reached {focused()!r}, which is not in the order"
        seen.append(stop)
    names = [w.accessibleName() or w.objectName() for w in seen]
    assert seen == expected, names
    # The steps come in the order a user takes them.
    steps = [
        window.target.search,
        window.target.notes,
        window.target.provider,
        window.banner.confirm_box,
        window.add_button,
        window.preview.preset,
        window.table,
        window.preview.local,
        window.status_panel.upload,
    ]
    assert [seen.index(w) for w in steps] == sorted(seen.index(w) for w in steps)
    press(qtbot, Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier)
    assert owner(focused(), order) is seen[-2]
