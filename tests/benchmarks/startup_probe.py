"""Starts the real window in demo mode and prints ``READY`` once it is shown and the event loop
has gone idle, then closes it. Run by ``bench_startup``; not meant to be run by hand."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow


class _FirstShow(QObject):
    """On the first Show of the main window, waits for an idle event loop, reports, quits."""

    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self.app = app
        self.seen = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if not self.seen and event.type() == QEvent.Type.Show and isinstance(watched, QMainWindow):
            self.seen = True
            QTimer.singleShot(0, lambda: self._ready(watched))
        return False

    def _ready(self, window: QMainWindow) -> None:
        print("READY", flush=True)
        window._force_close = True  # type: ignore[attr-defined]  # no "quit while sending?"
        window.close()
        self.app.quit()


def main() -> int:
    app = QApplication(sys.argv[:1])
    watcher = _FirstShow(app)
    app.installEventFilter(watcher)
    from maxupload.__main__ import main as maxupload_main

    return maxupload_main(["--sandbox"])


if __name__ == "__main__":
    sys.exit(main())
