"""Desktop notifications: the system tray when there is one, else a banner in the window."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QSystemTrayIcon


class Notifier(QObject):
    """Tells the user a batch finished or needs them, even when the window is in the back.

    Signals:
        shown(str, str): title and text of every notification (the in-window banner shows it).
    """

    shown = Signal(str, str)

    def __init__(self, icon: QIcon | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages():
            self._tray = QSystemTrayIcon(icon or QIcon(), self)
            self._tray.setToolTip("MaxUpload")
            self._tray.show()

    @property
    def uses_tray(self) -> bool:
        return self._tray is not None

    def notify(self, title: str, text: str, *, warning: bool = False) -> None:
        if self._tray is not None:
            kind = (
                QSystemTrayIcon.MessageIcon.Warning
                if warning
                else QSystemTrayIcon.MessageIcon.Information
            )
            self._tray.showMessage(title, text, kind, 8000)
        self.shown.emit(title, text)

    def close(self) -> None:
        if self._tray is not None:
            self._tray.hide()
