"""Stable object names, keyboard shortcuts, accessible names, and ``maxupload --sandbox``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QAbstractButton, QApplication, QLineEdit, QWidget

from maxupload.app import DEMO_TEXT, run_gui
from maxupload.gui import names
from maxupload.gui.main_window import MainWindow
from tests.gui.conftest import add_photos

SETTINGS_NAMES = {
    v for k, v in vars(names).items() if k.startswith("SETTINGS_") and k != "SETTINGS_BUTTON"
}
WINDOW_ONLY_WHEN = {names.DEMO_BANNER}  # exists in demo mode only


def _all_names() -> set[str]:
    return {v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}


def test_every_listed_object_name_finds_its_widget(qtbot: Any, make_app: Any) -> None:
    ctx = make_app()
    window = ctx.window
    ctx.open_settings()
    ctx.open_history()  # a child of the window: its names are found from there
    for name in sorted(_all_names() - WINDOW_ONLY_WHEN):
        root: QWidget = ctx.settings_dialog if name in SETTINGS_NAMES else window
        found = root if root.objectName() == name else root.findChild(QWidget, name)
        assert found is not None, f"no widget named {name!r}"
    assert len(_all_names()) == len(
        [v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)]
    ), "two constants share one object name"
    ctx.settings_dialog.close()
    ctx.history_window.close()


def test_shortcuts_and_accessible_names(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    window = make_app().window
    expected = {
        window.add_action: [QKeySequence(QKeySequence.StandardKey.Open)],
        window.paste_action: [QKeySequence(QKeySequence.StandardKey.Paste)],
        window.upload_action: [QKeySequence("Ctrl+U"), QKeySequence("Ctrl+Return")],
        window.settings_action: [QKeySequence("Ctrl+,")],
        window.remove_action: [QKeySequence(QKeySequence.StandardKey.Delete)],
    }
    for action, keys in expected.items():
        for key in keys:
            assert key in action.shortcuts(), f"{action.text()} lacks {key.toString()}"
    for widget in window.findChildren(QAbstractButton) + window.findChildren(QLineEdit):
        if widget.isVisibleTo(window) and widget.objectName():
            assert widget.accessibleName() or widget.text(), widget.objectName()

    # The Delete key removes the selected photos from the list.
    add_photos(qtbot, window, tmp_path / "cam", 2)
    window.activateWindow()
    window.table.setFocus()
    window.select_row(0)
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert window.model.rowCount() == 1


def test_maxupload_sandbox_opens_the_demo_window_and_quits(qtbot: Any, qapp: QApplication) -> None:
    seen: dict[str, Any] = {}

    def look_and_close() -> None:
        windows = [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        assert len(windows) == 1
        window = windows[0]
        seen["title"] = window.windowTitle()
        seen["banner"] = window.demo_banner.text() if window.demo_banner else ""
        seen["connection"] = window.connection_label.text()
        window.close()

    QTimer.singleShot(1500, look_and_close)
    assert run_gui(sandbox=True) == 0
    assert "demo mode" in seen["title"]
    assert seen["banner"] == DEMO_TEXT
    assert "nothing reaches a real EHR" in seen["banner"]
    assert "127.0.0.1" in seen["connection"]
    assert not [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
