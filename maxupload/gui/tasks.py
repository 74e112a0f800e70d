"""A bounded worker pool that runs plain callables off the GUI thread.

Results come back on the GUI thread through a queued signal, so callers never touch widgets
from a worker. Workers return plain data, bytes or ``QImage``, never ``QPixmap``.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from maxupload.core.system.worker_priority import worker_started

log = logging.getLogger(__name__)

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]


class _Job(QRunnable):
    def __init__(self, pool: TaskPool, job_id: int, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._pool = pool
        self._job_id = job_id
        self._fn = fn

    def run(self) -> None:
        if self._pool.is_closing or self._pool.take_cancelled(self._job_id):
            return
        if self._pool.background:
            worker_started()  # decoding yields the CPU to the GUI thread
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to the caller's on_error
            self._pool.finished_job.emit(self._job_id, None, exc)
        else:
            self._pool.finished_job.emit(self._job_id, result, None)


class TaskPool(QObject):
    """Runs callables on a bounded ``QThreadPool``; callbacks run on the GUI thread.

    Signals:
        finished_job(int, object, object): internal; job id, result, exception.
        busy_changed(bool): True while any job is waiting or running.
    """

    finished_job = Signal(int, object, object)
    busy_changed = Signal(bool)

    def __init__(
        self, max_threads: int = 2, *, background: bool = False, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max(1, max_threads))
        #: CPU-heavy work (decoding, resizing): its threads yield the CPU to the GUI thread.
        self.background = background
        self._ids = itertools.count(1)
        self._callbacks: dict[int, tuple[Done | None, Failed | None]] = {}
        self._closing = threading.Event()
        self._cancelled: set[int] = set()
        self._cancel_lock = threading.Lock()
        self.finished_job.connect(self._deliver)

    @property
    def is_closing(self) -> bool:
        return self._closing.is_set()

    def pending(self) -> int:
        """Jobs submitted and not yet delivered."""
        return len(self._callbacks)

    def submit(
        self,
        fn: Callable[[], Any],
        on_done: Done | None = None,
        on_error: Failed | None = None,
        *,
        priority: int = 0,
    ) -> int:
        """Run ``fn()`` on a worker; ``on_done(result)``/``on_error(exc)`` run on this thread."""
        if self.is_closing:
            return 0
        job_id = next(self._ids)
        was_idle = not self._callbacks
        self._callbacks[job_id] = (on_done, on_error)
        self._pool.start(_Job(self, job_id, fn), priority)
        if was_idle:
            self.busy_changed.emit(True)
        return job_id

    def forget(self, job_id: int) -> None:
        """Drop the callbacks of a job whose answer is no longer wanted."""
        if self._callbacks.pop(job_id, None) is not None and not self._callbacks:
            self.busy_changed.emit(False)

    def cancel(self, job_id: int) -> None:
        """Drop a job: if it has not started it never runs, and its answer is never delivered
        (a removed photo's thumbnail or estimate costs nothing more)."""
        if self._callbacks.pop(job_id, None) is None:
            return
        with self._cancel_lock:
            self._cancelled.add(job_id)
        if not self._callbacks:
            self.busy_changed.emit(False)

    def take_cancelled(self, job_id: int) -> bool:
        """True (once) when ``job_id`` was cancelled before it started; called by workers."""
        with self._cancel_lock:
            if job_id in self._cancelled:
                self._cancelled.discard(job_id)
                return True
            return False

    @Slot(int, object, object)
    def _deliver(self, job_id: int, result: object, error: object) -> None:
        callbacks = self._callbacks.pop(job_id, None)
        with self._cancel_lock:
            self._cancelled.discard(job_id)  # it ran before the cancel reached it
        if callbacks is None or self.is_closing:
            return
        if not self._callbacks:
            self.busy_changed.emit(False)
        on_done, on_error = callbacks
        if error is not None:
            if on_error is not None:
                on_error(error)  # type: ignore[arg-type]
            else:
                log.warning("background job failed: %s", type(error).__name__)
        elif on_done is not None:
            on_done(result)

    def shutdown(self, timeout_ms: int = 30_000) -> bool:
        """Stop taking jobs, drop queued ones, wait for running ones. True when all ended."""
        self._closing.set()
        self._pool.clear()
        done = self._pool.waitForDone(timeout_ms)
        self._callbacks.clear()
        return done
