"""PySide6 must not drop references to ``None`` while it runs the window.

PySide6-Essentials 6.12.0 on Python 3.11 does: every Python slot call, every ``data()`` that
answers None and every event-loop pass takes one reference from ``None`` (and every emit one
from ``True``), so a session aborts after some minutes with "Fatal Python error: none_dealloc".
6.11.3 is fine. If this test fails, pin PySide6-Essentials to a version that passes it.
"""

from __future__ import annotations

import sys
from typing import Any

import PySide6
import pytest
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QTimer

# From Python 3.12 on, None and True are immortal (PEP 683): their count never moves, so the
# check below could not fail there.
pytestmark = pytest.mark.skipif(
    sys.version_info >= (3, 12), reason="None is immortal on Python 3.12+: the count cannot drop"
)


class _Model(QAbstractTableModel):
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 1

    def data(self, index: Any, role: int = 0) -> Any:
        return None


def test_slots_and_models_keep_the_reference_count_of_none(qtbot: Any, qapp: Any) -> None:
    model = _Model()
    index = model.index(0, 0)
    calls: list[int] = []
    timer = QTimer()
    timer.setInterval(0)
    timer.timeout.connect(lambda: calls.append(1))
    before = sys.getrefcount(None)
    timer.start()
    for _ in range(200):
        qapp.processEvents()
        index.data(5)
    timer.stop()
    lost = before - sys.getrefcount(None)
    assert calls
    assert lost < 100, (
        f"PySide6 {PySide6.__version__} dropped {lost} references to None in 200 event-loop "
        "passes: the window would abort after a few minutes. Pin PySide6-Essentials to a "
        "version without this bug (6.11.3 passes; 6.12.0 on Python 3.11 fails)."
    )
