"""Spoken announcements for screen readers: errors at once, batch results politely.

Qt sends a ``QAccessibleAnnouncementEvent`` to the platform's accessibility bridge (a screen
reader speaks it without moving the focus); ``announced`` lets the window and tests see what
was said.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QWidget


class Announcer(QObject):
    """Announces short texts on behalf of ``widget``.

    Signals:
        announced(str, bool): the text and whether it interrupts (assertive) or waits.
    """

    announced = Signal(str, bool)

    def __init__(self, widget: QWidget) -> None:
        super().__init__(widget)
        self._widget = widget

    def say(self, text: str, assertive: bool = False) -> None:
        text = " ".join(text.split())
        if not text:
            return
        event = QAccessibleAnnouncementEvent(self._widget, text)
        politeness = QAccessible.AnnouncementPoliteness
        event.setPoliteness(politeness.Assertive if assertive else politeness.Polite)
        QAccessible.updateAccessibility(event)
        self.announced.emit(text, assertive)


def name_spin_box_text(spin: QAbstractSpinBox) -> None:
    """Give a spin box's inner text field the spin box's name: a screen reader lands on it."""
    edit = spin.findChild(QLineEdit)
    if edit is not None:
        edit.setAccessibleName(spin.accessibleName())


def spoken_banner(name: str, details: str, warning: str = "") -> tuple[str, str]:
    """(name, description) of the patient banner for a screen reader, from what the banner
    shows: its name (``Patient Rivera, Elena``), then the details line by line (DOB, MRN,
    visit, note state, provider) and any warning."""
    parts = [p.strip() for line in details.splitlines() for p in line.split("·") if p.strip()]
    if warning:
        parts.append(warning)
    return name, ", ".join(parts)
