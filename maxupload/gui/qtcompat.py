"""``emit(signal, *args)``: emits a signal, working around a PySide6 reference-count bug.

PySide6 6.12.0's ``SignalInstance.emit`` returns ``True`` without a new reference, so every
emit from Python takes one reference from ``True``; a long session then aborts with
"bool_dealloc". At import we measure whether this PySide6 does that, and only then hand the
reference back after each emit. On a fixed PySide6 this is a plain emit.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None


class _Probe(QObject):
    ping = Signal()


def _emit_loses_true() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    lost = before - sys.getrefcount(True)
    if lost > 0:
        for _ in range(lost):
            _incref(True)  # give back what the probe took
    probe.deleteLater()
    return lost >= 8


EMIT_LOSES_TRUE = _emit_loses_true()


def emit(signal: Any, *args: Any) -> None:
    """``signal.emit(*args)``, safe on every PySide6 version we support."""
    result = signal.emit(*args)
    if EMIT_LOSES_TRUE and result is True:
        _incref(True)
