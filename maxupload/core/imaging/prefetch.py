"""Prepare the next queued photos while earlier ones are being sent, on every core.

The engine's workers each take one photo through prepare, upload and verify; while a worker
waits on the network its core would idle. ``Prefetcher`` keeps up to one photo per core being
prepared ahead into the shared ``PreparedCopies`` (on disk, so memory stays flat however long
the batch), and a worker reaching that photo finds its copy made. Pillow releases the GIL while
it decodes, resizes and encodes, so threads use every core without the start-up cost of
processes (and without spawn concerns in the frozen app). A failure here is ignored: the worker
prepares the photo itself and reports the reason.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.system.worker_priority import worker_started

log = logging.getLogger(__name__)


class Prefetcher:
    """Prepares photos ahead, at most ``depth`` at a time (default: one per core).

    ``candidates`` lists the photos waiting to be sent, next first, as (id, source, preset).
    """

    def __init__(
        self,
        copies: PreparedCopies,
        candidates: Callable[[], Iterable[tuple[int, Path, str]]],
        depth: int | None = None,
    ) -> None:
        self.copies = copies
        self._candidates = candidates
        self.depth = max(1, depth or os.cpu_count() or 1)
        self._lock = threading.Lock()
        self._pending: set[int] = set()
        self._done: set[int] = set()
        self._closed = False
        self._pool = ThreadPoolExecutor(
            self.depth, thread_name_prefix="maxupload-prepare-ahead", initializer=worker_started
        )

    def kick(self) -> None:
        """Start preparing the next waiting photos not yet under way, up to ``depth`` at once."""
        with self._lock:
            if self._closed or len(self._pending) >= self.depth:
                return
        try:
            items = list(self._candidates())
        except Exception:  # the queue is closing; the workers carry on without help
            return
        with self._lock:
            if self._closed:
                return
            for item_id, source, preset in items:
                if len(self._pending) >= self.depth:
                    break
                if item_id in self._pending or item_id in self._done:
                    continue
                self._pending.add(item_id)
                self._pool.submit(self._prepare, item_id, source, preset)

    def _prepare(self, item_id: int, source: Path, preset: str) -> None:
        try:
            self.copies.get(source, preset)
        except Exception as exc:  # the worker prepares it again and tells the user why
            log.debug("preparing item %s ahead failed: %s", item_id, type(exc).__name__)
        finally:
            with self._lock:
                self._pending.discard(item_id)
                self._done.add(item_id)
            self.kick()

    def close(self, wait: bool = True) -> None:
        """Stop: photos not started are left to the workers; running ones finish (``wait``:
        before this returns)."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)
