"""Turns the engine's listener callbacks (called on worker threads) into Qt signals.

Worker threads only append to lock-guarded buffers; a timer on the GUI thread drains them and
emits the signals there. So no Python worker thread ever emits a Qt signal, item changes reach
the window within about 50 ms, and byte progress is coalesced to about ten updates a second.
Many item changes at once (a large drop's checks) are shown a part per event-loop turn, so the
window keeps painting in between.
"""

from __future__ import annotations

import threading
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

#: Item changes shown per event-loop turn: about 4 ms of the GUI thread's time (each change
#: re-renders its row); 100 at once held the window for 25-60 ms.
ITEMS_PER_TURN = 16


class EngineBridge(QObject):
    """Collects engine events from any thread and emits them on the GUI thread.

    Signals:
        item_changed(object): a ``QueueItem`` after a committed state change (latest per item).
        progress(object): ``{item_id: (sent, total)}``, at most about 10 per second.
        batch_finished(object): counts per state when the engine runs out of work.
        storage_failed(object): the ``StorageError`` that paused the queue (disk full, ...).
    """

    item_changed = Signal(object)
    progress = Signal(object)
    batch_finished = Signal(object)
    storage_failed = Signal(object)

    def __init__(
        self, interval_ms: int = 50, progress_every: int = 2, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._lock = threading.Lock()
        self._items: dict[int, Any] = {}
        self._progress: dict[int, tuple[int, int]] = {}
        self._batches: list[dict[str, int]] = []
        self._storage: list[BaseException] = []
        self._ticks = 0
        self._progress_every = max(1, progress_every)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._more = QTimer(self)  # the rest of a large flush, in the next event-loop turn
        self._more.setSingleShot(True)
        self._more.setInterval(0)
        self._more.timeout.connect(self.flush)

    # Called on the engine's threads (or any thread).
    def push_item(self, item: Any) -> None:
        with self._lock:
            known = self._items.get(item.id)
            if known is None or getattr(item, "revision", 0) >= getattr(known, "revision", 0):
                self._items[item.id] = item

    def push_progress(self, item_id: int, sent: int, total: int) -> None:
        with self._lock:
            self._progress[item_id] = (sent, total)

    def push_batch(self, counts: dict[str, int]) -> None:
        with self._lock:
            self._batches.append(dict(counts))

    def push_storage_failure(self, exc: BaseException) -> None:
        with self._lock:
            self._storage.append(exc)

    @Slot()
    def flush(self) -> None:
        """Emit what the workers reported since the last tick (GUI thread)."""
        self._ticks += 1
        with self._lock:
            ordered = sorted(self._items.values(), key=lambda i: i.id)
            items, rest = ordered[:ITEMS_PER_TURN], ordered[ITEMS_PER_TURN:]
            self._items = {i.id: i for i in rest}
            # A batch's summary follows the changes of its items.
            batches, self._batches = (self._batches, []) if not rest else ([], self._batches)
            storage, self._storage = self._storage, []
            progress: dict[int, tuple[int, int]] = {}
            if self._ticks % self._progress_every == 0 or batches:
                progress, self._progress = self._progress, {}
        if rest:
            self._more.start()
        for item in items:
            self.item_changed.emit(item)
        if progress:
            self.progress.emit(progress)
        for counts in batches:
            self.batch_finished.emit(counts)
        for exc in storage:
            self.storage_failed.emit(exc)

    def stop(self) -> None:
        """Stop the timers (the window is closing)."""
        self._timer.stop()
        self._more.stop()


class EngineListenerAdapter:
    """The plain-Python ``EngineListener`` handed to the engine; feeds an ``EngineBridge``."""

    def __init__(self, bridge: EngineBridge) -> None:
        self._bridge = bridge

    def item_changed(self, item: Any) -> None:
        self._bridge.push_item(item)

    def item_progress(self, item_id: int, sent: int, total: int) -> None:
        self._bridge.push_progress(item_id, sent, total)

    def batch_finished(self, counts: dict[str, int]) -> None:
        self._bridge.push_batch(counts)

    def storage_failed(self, exc: BaseException) -> None:
        self._bridge.push_storage_failure(exc)
