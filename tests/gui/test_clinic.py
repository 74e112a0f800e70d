"""The window for a clinic: managed settings in the dialog, the trash option, the History window."""

from __future__ import annotations

import csv
import hashlib
import os
from pathlib import Path
from typing import Any

import httpx
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel

from maxupload.gui.history_window import HistoryWindow
from maxupload.gui.managed_locks import LOCKED_TEXT
from maxupload.gui.settings_dialog import SettingsDialog
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, ready_to_upload, states
from tests.plugins.trash import trashed_names


def write_managed(text: str) -> Path:
    path = Path(os.environ["MAXUPLOAD_MANAGED_CONFIG"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_settings_dialog_shows_locked_values_as_set_by_it(
    qtbot: Any, make_app: Any, sandbox: SandboxServer
) -> None:
    path = write_managed(
        f'org_id = "{sandbox.demo.org_id}"\nbase_url = "{sandbox.base_url}"\n'
        'preset = "small"\nlocked = ["org_id", "base_url"]\n'
    )
    ctx = make_app()
    ctx.window.settings_action.trigger()  # Ctrl+,
    qtbot.waitUntil(lambda: ctx.settings_dialog is not None, timeout=TIMEOUT_MS)
    dialog: SettingsDialog = ctx.settings_dialog
    assert dialog.isVisible()
    assert not dialog.org.isEnabled() and dialog.org.text() == sandbox.demo.org_id
    assert not dialog.environment.isEnabled() and not dialog.base_url.isEnabled()
    assert str(path) in dialog.org.toolTip()
    notes = [w.text() for w in dialog.findChildren(QLabel) if w.text().startswith(LOCKED_TEXT)]
    assert len(notes) == 2  # organization and environment
    assert dialog.preset.isEnabled()  # preset by IT, not locked: the user may change it
    # Typing into the locked field changes nothing.
    qtbot.keyClicks(dialog.org, "org_other")
    assert dialog.org.text() == sandbox.demo.org_id
    dialog.close()


def test_the_window_obeys_locked_values(qtbot: Any, make_app: Any) -> None:
    write_managed(
        'org_id = "org_it"\npreset = "small"\nhistory_retention_days = 90\n'
        'locked = ["org_id", "preset", "history_retention_days"]\n'
    )
    ctx = make_app()  # built with the sandbox's organization and the standard size
    assert ctx.connection.settings.org_id == "org_it"
    assert ctx.window.preview.preset_spec() == "small"
    ctx.window.settings_action.trigger()
    dialog: SettingsDialog = ctx.settings_dialog
    assert not dialog.preset.isEnabled() and dialog.preset.currentData() == "small"
    assert not dialog.org.isEnabled() and dialog.org.text() == "org_it"
    assert not dialog.retention.isEnabled() and dialog.retention.value() == 90
    assert dialog.environment.isEnabled()  # not locked
    dialog.close()


class _Browser(QObject):
    """Stands in for the system browser: Qt hands it the URLs it would open."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


def test_trash_option_then_history_search_open_and_export(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path, xdg_trash: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    photos = ready_to_upload(qtbot, window, sandbox, tmp_path / "card", count=2)
    box = window.originals_option.box
    assert not box.isChecked()
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=box.rect().center())
    assert box.isChecked()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.status_panel.upload, Qt.MouseButton.LeftButton)
    assert not box.isChecked()  # the choice was for this batch only
    assert window.originals_option.note.isVisibleTo(window)
    assert "trash once verified" in window.originals_option.note.text()
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=60_000)
    qtbot.waitUntil(lambda: not any(p.exists() for p in photos), timeout=TIMEOUT_MS)
    assert trashed_names(xdg_trash) == sorted(p.name for p in photos)

    # Ctrl+H opens the history with both photos.
    assert QKeySequence("Ctrl+H") in window.history_action.shortcuts()
    assert window.history_action in window.menuBar().actions()[0].menu().actions()
    window.history_action.trigger()
    qtbot.waitUntil(lambda: ctx.history_window is not None, timeout=TIMEOUT_MS)
    history: HistoryWindow = ctx.history_window
    qtbot.waitUntil(lambda: history.table.rowCount() == 2, timeout=TIMEOUT_MS)
    mrn = history._entries[0].mrn
    assert mrn and history._entries[0].patient_name == "Rivera, Elena"
    assert history._entries[0].visit.startswith("20")
    assert history._entries[0].provider_name

    # Search by an MRN that matches nothing, then by the right one.
    qtbot.keyClicks(history.mrn, "no-such-mrn")
    with qtbot.waitSignal(history.loaded, timeout=TIMEOUT_MS) as loaded:
        qtbot.keyClick(history.mrn, Qt.Key.Key_Return)
    assert loaded.args == [0]
    history.mrn.clear()
    qtbot.keyClicks(history.mrn, mrn)
    with qtbot.waitSignal(history.loaded, timeout=TIMEOUT_MS) as loaded:
        qtbot.mouseClick(history.search_button, Qt.MouseButton.LeftButton)
    assert loaded.args == [2]

    # The details name what became of the original; Open fetches a fresh signed link.
    rect = history.table.visualRect(history.table.model().index(0, 0))
    qtbot.mouseClick(history.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    entry = history.selected()
    assert entry is not None and "moved to the trash" in history.details.toPlainText()
    browser = _Browser()
    QDesktopServices.setUrlHandler("http", browser, "open")
    try:
        with qtbot.waitSignal(history.link_opened, timeout=TIMEOUT_MS) as opened:
            qtbot.mouseClick(history.open_button, Qt.MouseButton.LeftButton)
    finally:
        QDesktopServices.unsetUrlHandler("http")
    assert browser.opened == [opened.args[0]]
    stored = httpx.get(opened.args[0]).content
    assert hashlib.sha256(stored).hexdigest() == entry.sha256_sent

    # Export CSV through the save dialog; the file parses back to the two photos.
    target = tmp_path / "audit.csv"
    qtbot.mouseClick(history.csv_button, Qt.MouseButton.LeftButton)
    dialog = history.findChild(QFileDialog)
    assert dialog is not None
    dialog.selectFile(str(target))
    with qtbot.waitSignal(history.exported, timeout=TIMEOUT_MS):
        dialog.accept()
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert sorted(r["source_path"] for r in rows) == sorted(str(p) for p in photos)
    assert {r["status"] for r in rows} == {"verified"}
    assert {r["original"] for r in rows} == {"moved to the trash"}
    history.close()


def test_a_damaged_history_is_named_and_uploads_still_work(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    from maxupload.core.history.store import history_path_for
    from maxupload.core.queue.store import default_queue_path

    path = history_path_for(default_queue_path())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not a database" * 100)
    ctx = make_app()
    window = ctx.window
    assert str(path) in window.notice.text() and "Uploads are not affected" in window.notice.text()
    ready_to_upload(qtbot, window, sandbox, tmp_path / "card", count=1)
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.status_panel.upload, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)


def test_a_damaged_managed_file_stops_the_window_naming_it(
    qtbot: Any, qapp: Any, capsys: Any
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    from maxupload.app import run_gui
    from maxupload.gui.main_window import MainWindow

    path = write_managed("org_id = \n")
    seen: dict[str, str] = {}

    def answer() -> None:
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(50, answer)
            return
        seen["text"] = box.text()
        box.accept()

    QTimer.singleShot(50, answer)
    assert run_gui(sandbox=False) == 2
    assert str(path) in seen["text"] and "damaged" in seen["text"]
    assert str(path) in capsys.readouterr().err
    assert not [w for w in qapp.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
