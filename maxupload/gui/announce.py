"""Spoken announcements for screen readers: errors at once, batch results politely.

Qt sends a ``QAccessibleAnnouncementEvent`` to the platform's accessibility bridge (a screen
reader speaks it without moving the focus); ``announced`` lets the window and tests see what
was said.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAccessible, QAccessibleAnnouncementEvent
from PySide6.QtWidgets import QAbstractSpinBox, QLineEdit, QWidget

from maxupload.core.models import Note, Provider
from maxupload.core.visit_time import visit_text


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


def banner_accessible_text(note: Note | None, provider: Provider | None) -> tuple[str, str]:
    """(name, description) of the patient banner as a screen reader reads it: who, born when,
    which MRN, which visit, and whether the note still takes photos."""
    if note is None:
        return "Patient: none chosen", "Find the patient, then pick the visit note."
    patient = note.patient
    name = patient.display_name if patient else "Unknown patient"
    parts = []
    if patient is not None:
        parts.append(f"date of birth {patient.date_of_birth or 'unknown'}")
        parts.append(f"MRN {patient.mrn or 'none'}")
    parts.append(f"visit {visit_text(note)}")
    if note.facility and note.facility.name:
        parts.append(note.facility.name)
    parts.append("note signed, takes no more photos" if note.is_locked else "note open")
    if provider is not None:
        parts.append(f"upload as {provider.display_name}")
    return f"Patient {name}", ", ".join(parts)
