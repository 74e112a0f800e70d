"""Run something once a widget has been painted: when the event loop, after the widget's next
paint, has nothing left to do (the layout and other paints that came with it are done too), or
at once when the widget is not on screen (no paint would come)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from PySide6.QtCore import QAbstractEventDispatcher, QEvent, QObject
from PySide6.QtWidgets import QWidget

_PAINT = QEvent.Type.Paint


def _dispatcher() -> QAbstractEventDispatcher:
    """The GUI thread's event dispatcher (QApplication made it)."""
    dispatcher = QAbstractEventDispatcher.instance()
    assert dispatcher is not None, "a QApplication runs this thread's event loop"
    return dispatcher


class _AfterPaint(QObject):
    """Watches one widget for its next paint event, then lets ``done`` run and goes away."""

    def __init__(self, widget: QWidget, done: Callable[[], None]) -> None:
        super().__init__(widget)
        self._widget = widget
        self._done: Callable[[], None] | None = done
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and event.type() == _PAINT:
            self._widget.removeEventFilter(self)
            # The paint runs after this filter; ``done`` waits until the event loop has nothing
            # left to do (the layout and paints that came with it are done too).
            _dispatcher().aboutToBlock.connect(self._finish)
        return False

    def _finish(self) -> None:
        with contextlib.suppress(RuntimeError, TypeError):
            _dispatcher().aboutToBlock.disconnect(self._finish)
        done, self._done = self._done, None
        if done is not None:
            done()
        self.deleteLater()


def after_next_paint(widget: QWidget, done: Callable[[], None]) -> None:
    """Call ``done`` (on the GUI thread, once) after ``widget``'s next paint, when the event
    loop is about to wait again; at once when it is hidden. ``widget`` must already have a
    paint coming (an ``update()`` made)."""
    if not widget.isVisible():
        done()
        return
    _AfterPaint(widget, done)
