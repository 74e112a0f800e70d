"""Tone colours for text on the real background of a widget, light or dark palette alike.

Labels coloured here follow the system palette while MaxUpload runs: when the desktop switches
between light and dark, their colours are chosen again.
"""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QLabel

from maxupload.gui.status_text import Tone, tone_text_color


def text_color(tone: Tone, palette: QPalette, role: QPalette.ColorRole) -> QColor:
    """The colour for text in ``tone`` drawn on ``palette``'s ``role`` background."""
    return QColor(tone_text_color(tone, palette.color(role).name()))


def set_tone_text(label: QLabel, tone: Tone, bold: bool = True) -> None:
    """Colour ``label``'s text in ``tone`` so it keeps 4.5:1 on the window background."""
    _watch_palette()
    color = text_color(tone, QGuiApplication.palette(), QPalette.ColorRole.Window).name()
    weight = " font-weight: 600;" if bold else ""
    label.setProperty("tone", str(tone))
    label.setProperty("toneBold", bold)
    label.setStyleSheet(f"color: {color};{weight}")


def tone_style(tone: Tone) -> str:
    """A style sheet ``color`` for text in ``tone`` on the application's window background."""
    bg = QGuiApplication.palette().color(QPalette.ColorRole.Window).name()
    return f"color: {tone_text_color(tone, bg)};"


class _PaletteWatcher(QObject):
    """Colours every toned label again when the application's palette changes."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ApplicationPaletteChange and (
            watched is QCoreApplication.instance()
        ):
            for widget in QApplication.allWidgets():
                tone = widget.property("tone")
                if isinstance(widget, QLabel) and tone:
                    set_tone_text(widget, Tone(tone), bool(widget.property("toneBold")))
        return False


_watcher: _PaletteWatcher | None = None


def _watch_palette() -> None:
    global _watcher
    app = QCoreApplication.instance()
    if _watcher is None and app is not None:
        _watcher = _PaletteWatcher(app)
        app.installEventFilter(_watcher)
