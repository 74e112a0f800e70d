"""The sandbox's clock: real time (or a given source) plus an offset tests can move forward."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SandboxClock:
    def __init__(self, source: Callable[[], float] | None = None) -> None:
        self._source = source or time.time
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._source() + self._offset

    def advance(self, seconds: float) -> None:
        """Jump forward (signed URLs expire, the rate window slides) without waiting."""
        with self._lock:
            self._offset += seconds
