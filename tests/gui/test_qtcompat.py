"""Emitting signals must not wear away Python's ``True`` (PySide6 6.12.0 emit bug)."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import QObject, Signal

from maxupload.gui.qtcompat import emit


class _Source(QObject):
    plain = Signal()
    with_args = Signal(int, object)


def test_many_emits_keep_the_reference_count_of_true(qtbot: Any) -> None:
    source = _Source()
    seen: list[int] = []
    source.with_args.connect(lambda n, _o: seen.append(n))
    before = sys.getrefcount(True)
    for n in range(500):
        emit(source.plain)
        emit(source.with_args, n, {n: (1, 2)})
    assert sys.getrefcount(True) >= before
    assert seen == list(range(500))
