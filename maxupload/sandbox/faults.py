"""The live fault board: which request gets which injected failure, counted down safely."""

from __future__ import annotations

import fnmatch
import re
import threading
from typing import Any

from maxupload.sandbox.config import Faults

_UPLOAD_PATH = re.compile(r"^/v\d+/notes/[^/]+/images/?$")


def is_upload(method: str, path: str) -> bool:
    return method == "POST" and bool(_UPLOAD_PATH.match(path))


class FaultBoard:
    """Holds the current :class:`Faults` and hands each one out to matching requests."""

    def __init__(self, faults: Faults | None = None) -> None:
        self._lock = threading.Lock()
        self._faults = Faults.from_dict({}, base=faults or Faults())

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def update(self, **changes: Any) -> Faults:
        """Change some fields, keep the others (``srv.set_faults(error_500=2)``)."""
        with self._lock:
            self._faults = Faults.from_dict(changes, base=self._faults)
            return self._faults

    def current(self) -> Faults:
        with self._lock:
            return Faults.from_dict({}, base=self._faults)

    def _matches(self, name: str, method: str, path: str) -> bool:
        f = self._faults
        if f.paths is None and f.methods is None:
            if name == "rate_limit_burst":
                return True
            return is_upload(method, path)
        if f.methods is not None and method.upper() not in {m.upper() for m in f.methods}:
            return False
        return f.paths is None or any(fnmatch.fnmatchcase(path, p) for p in f.paths)

    def take(self, name: str, method: str, path: str) -> bool:
        """True (and one count used) when fault ``name`` hits this request."""
        with self._lock:
            count = getattr(self._faults, name)
            if count == 0 or not self._matches(name, method, path):
                return False
            if count > 0:
                setattr(self._faults, name, count - 1)
            return True

    def latency_s(self, method: str, path: str) -> float:
        with self._lock:
            ms = self._faults.latency_ms
            if ms <= 0 or not self._matches("latency_ms", method, path):
                return 0.0
            return ms / 1000.0

    def retry_after_s(self) -> int:
        with self._lock:
            return self._faults.retry_after_s
