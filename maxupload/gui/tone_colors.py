"""Tone colours for text on the real background of a widget, light or dark palette alike."""

from __future__ import annotations

from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QLabel

from maxupload.gui.status_text import Tone, tone_text_color


def text_color(tone: Tone, palette: QPalette, role: QPalette.ColorRole) -> QColor:
    """The colour for text in ``tone`` drawn on ``palette``'s ``role`` background."""
    return QColor(tone_text_color(tone, palette.color(role).name()))


def set_tone_text(label: QLabel, tone: Tone, bold: bool = True) -> None:
    """Colour ``label``'s text in ``tone`` so it keeps 4.5:1 on the window background."""
    color = text_color(tone, label.palette(), QPalette.ColorRole.Window).name()
    weight = " font-weight: 600;" if bold else ""
    label.setProperty("tone", str(tone))
    label.setStyleSheet(f"color: {color};{weight}")


def tone_style(tone: Tone) -> str:
    """A style sheet ``color`` for text in ``tone`` on the application's window background."""
    bg = QGuiApplication.palette().color(QPalette.ColorRole.Window).name()
    return f"color: {tone_text_color(tone, bg)};"
