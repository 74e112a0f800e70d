"""Turns the engine's listener callbacks (called on worker threads) into Qt signals.

Item changes are forwarded at once through queued signals; byte progress is coalesced and
emitted at most about ten times a second, so a fast upload cannot flood the GUI thread.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot


class EngineBridge(QObject):
    """An ``EngineListener`` whose callbacks become signals on the GUI thread.

    Signals:
        item_changed(object): a ``QueueItem`` after a committed state change.
        progress(dict): ``{item_id: (sent, total)}``, throttled to about 10 per second.
        batch_finished(dict): counts per state when the engine runs out of work.
    """

    item_changed = Signal(object)
    progress = Signal(object)
    batch_finished = Signal(object)

    def __init__(self, interval_ms: int = 100, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._pending: dict[int, tuple[int, int]] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._flush)
        self._timer.start()

    # EngineListener protocol: called on the engine's worker threads.
    def item_changed_callback(self, item: Any) -> None:
        self.item_changed.emit(item)

    def item_progress(self, item_id: int, sent: int, total: int) -> None:
        with self._lock:
            self._pending[item_id] = (sent, total)

    def batch_finished_callback(self, counts: dict[str, int]) -> None:
        self.batch_finished.emit(dict(counts))

    @Slot()
    def _flush(self) -> None:
        with self._lock:
            if not self._pending:
                return
            pending, self._pending = self._pending, {}
        self.progress.emit(pending)

    def stop(self) -> None:
        """Stop the throttle timer (the window is closing)."""
        self._timer.stop()


class EngineListenerAdapter:
    """The plain-Python listener handed to the engine; forwards to an ``EngineBridge``.

    Kept separate because the protocol's method names (``item_changed``, ``batch_finished``)
    are the bridge's signal names.
    """

    def __init__(self, bridge: EngineBridge) -> None:
        self._bridge = bridge

    def item_changed(self, item: Any) -> None:
        self._bridge.item_changed_callback(item)

    def item_progress(self, item_id: int, sent: int, total: int) -> None:
        self._bridge.item_progress(item_id, sent, total)

    def batch_finished(self, counts: dict[str, int]) -> None:
        self._bridge.batch_finished_callback(counts)
