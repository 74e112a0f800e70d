"""The main window's actions, shortcuts, menus and the photo list's context menu."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu

from maxupload.gui.include_copies import IncludeCopies


class WindowMenus:
    """The window's actions (with their shortcuts), its menus and the photo list's context menu.

    A part of ``MainWindow`` (mixed in): it uses the widgets ``WindowLayout`` builds and the
    services ``MainWindow.__init__`` sets up.
    """

    def _build_actions(self) -> None:
        def action(
            text: str,
            keys: list[QKeySequence | QKeySequence.StandardKey | str],
            slot: Callable[[], None],
            context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
        ) -> QAction:
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setShortcutContext(context)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.add_action = action("Add photos…", [QKeySequence.StandardKey.Open], self.choose_files)
        self.add_folder_action = action("Add folder…", ["Ctrl+Shift+O"], self.choose_folder)
        self.paste_action = action("Paste photos", [QKeySequence.StandardKey.Paste], self.paste)
        self.remove_action = action(
            "Remove",
            [QKeySequence.StandardKey.Delete],
            self.remove_selected,
            Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.table.addAction(self.remove_action)
        self.removeAction(self.remove_action)
        self.upload_action = action("Upload", ["Ctrl+U", "Ctrl+Return", "Ctrl+Enter"], self.upload)
        self.settings_action = action("Settings…", ["Ctrl+,"], self.deps.open_settings)
        self.history_action = action("History…", ["Ctrl+H"], self.deps.open_history)
        self.retry_action = action("Retry", [], self.retry_selected)
        self.send_again_action = action("Send again…", [], self.send_again_selected)
        self.cancel_action = action("Cancel sending", [], self.cancel_selected)
        self.include_copies = IncludeCopies(
            self,
            self.selected_rows,
            lambda ids: self.uploads.include(ids),
            self.show_notice,
            self.shown_error.clear,
            self.deps.uploads.changed,
        )
        self.move_action = action("Send to another note…", [], self.send_to_another_note_selected)
        self.preview_action = action(
            "Preview",
            ["Space"],
            self._preview_current,
            Qt.ShortcutContext.WidgetShortcut,
        )
        self.table.addAction(self.preview_action)  # Space previews only inside the photo list
        self.removeAction(self.preview_action)

        self.add_button.clicked.connect(self.choose_files)
        self.paste_button.clicked.connect(self.paste)
        self.remove_button.clicked.connect(self.remove_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.send_again_button.clicked.connect(self.send_again_selected)
        self.settings_button.clicked.connect(self.deps.open_settings)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.add_action)
        file_menu.addAction(self.add_folder_action)
        file_menu.addAction(self.paste_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addAction(self.history_action)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        photos_menu = menu.addMenu("&Photos")
        for act in (
            self.upload_action,
            self.remove_action,
            self.retry_action,
            self.send_again_action,
            self.include_copies.action,
            self.move_action,
            self.cancel_action,
        ):
            photos_menu.addAction(act)

    def _context_menu(self, pos: Any) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.preview_action)
        menu.addAction(self.retry_action)
        menu.addAction(self.send_again_action)
        menu.addAction(self.include_copies.action)
        menu.addAction(self.move_action)
        menu.addAction(self.cancel_action)
        menu.addSeparator()
        menu.addAction(self.remove_action)
        menu.popup(self.table.viewport().mapToGlobal(pos))
