"""``after_next_paint``: the callback runs once the widget's next paint is done, never before,
and at once for a widget that is not on screen."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QWidget

from maxupload.gui.after_paint import after_next_paint


class Canvas(QWidget):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def paintEvent(self, event: QPaintEvent) -> None:
        self.log.append("paint")


def test_done_runs_after_the_next_paint_and_once(qtbot: Any) -> None:
    log: list[str] = []
    canvas = Canvas(log)
    qtbot.addWidget(canvas)
    canvas.resize(120, 80)
    canvas.show()
    qtbot.waitExposed(canvas)
    qtbot.waitUntil(lambda: "paint" in log)
    qtbot.wait(50)  # the first paints of a new window are over
    log.clear()

    canvas.update()
    after_next_paint(canvas, lambda: log.append("done"))
    assert log == []  # nothing runs before the paint
    qtbot.waitUntil(lambda: "done" in log)
    assert log == ["paint", "done"]
    canvas.update()
    qtbot.waitUntil(lambda: log.count("paint") == 2)
    qtbot.wait(50)
    assert log.count("done") == 1  # once


def test_done_runs_at_once_for_a_hidden_widget(qtbot: Any) -> None:
    log: list[str] = []
    hidden = Canvas(log)
    qtbot.addWidget(hidden)
    after_next_paint(hidden, lambda: log.append("done"))
    assert log == ["done"]
