"""The patient banner: who the photos go to, always in view, with the confirmation box.

Uploads are enabled only while the box is ticked for the exact note shown; choosing another
note or patient clears it. A patient picked without a note shows "Pick the visit note". A signed
note is shown as locked and cannot be confirmed.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.api.models import Note, Patient, Provider
from maxupload.core.checks.visit_time import visit_text
from maxupload.gui import names
from maxupload.gui.announce import spoken_banner
from maxupload.gui.status_text import ACCENTS, Tone
from maxupload.gui.tone_colors import set_tone_text

CHECK_HINT = "Check name, date of birth and MRN\nagainst the patient's chart."
ADD_FIRST_HINT = "Add the photos first: the confirmation\ncovers the photos listed."


def note_status_text(note: Note) -> str:
    if note.is_locked:
        return "Signed (locked)"
    return (note.status or "unknown").replace("_", " ").capitalize()


class PatientBanner(QFrame):
    """Shows the chosen patient and note and asks the user to confirm them.

    Signals:
        confirmed_changed(bool): the confirmation box changed (always False after a new note).
    """

    confirmed_changed = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(names.PATIENT_BANNER)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("No patient chosen")
        self._note: Note | None = None
        self._patient: Patient | None = None
        self._provider: Provider | None = None
        self._photos_listed = True
        self._gone = False  # the server said the note shown no longer exists (404)

        self.name_label = QLabel("No patient chosen")
        self.name_label.setObjectName(names.BANNER_NAME)
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.name_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.55)
        font.setWeight(font.Weight.DemiBold)
        self.name_label.setFont(font)

        self.details_label = QLabel("Find the patient on the left, then pick the visit note.")
        self.details_label.setObjectName(names.BANNER_DETAILS)
        self.details_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details_label.setWordWrap(True)

        self.prompt_label = QLabel("Pick the visit note on the left")
        self.prompt_label.setObjectName(names.BANNER_PROMPT)
        self.prompt_label.setStyleSheet(f"color: {ACCENTS[Tone.WARNING]}; font-weight: 600;")
        self.prompt_label.hide()

        self.locked_label = QLabel()
        self.locked_label.setObjectName(names.BANNER_LOCKED)
        self.locked_label.setWordWrap(True)
        set_tone_text(self.locked_label, Tone.ERROR)
        self.locked_label.hide()

        self.confirm_box = QCheckBox("I confirm this is the right patient")
        self.confirm_box.setObjectName(names.CONFIRM_PATIENT)
        self.confirm_box.setAccessibleName("I confirm this is the right patient")
        self.confirm_box.setEnabled(False)
        self.confirm_box.toggled.connect(self._toggled)
        cfont = self.confirm_box.font()
        cfont.setWeight(cfont.Weight.DemiBold)
        self.confirm_box.setFont(cfont)

        text = QVBoxLayout()
        text.setSpacing(4)
        text.addWidget(self.name_label)
        text.addWidget(self.details_label)
        text.addWidget(self.prompt_label)
        text.addWidget(self.locked_label)
        # What the patient-label check found in this batch (hidden until it finds something).
        self.label_match = QLabel()
        self.label_match.setObjectName("labelMatchBadge")
        self.label_match.hide()
        text.addWidget(self.label_match, 0, Qt.AlignmentFlag.AlignLeft)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(18)
        self._accent = QFrame()
        self._accent.setFixedWidth(6)
        self._accent.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Expanding)
        layout.addWidget(self._accent)
        layout.addLayout(text, 1)
        self.confirm_hint = QLabel(CHECK_HINT)
        confirm = QVBoxLayout()
        confirm.setSpacing(2)
        confirm.addStretch(1)
        confirm.addWidget(self.confirm_box)
        confirm.addWidget(self.confirm_hint)
        confirm.addStretch(1)
        layout.addLayout(confirm)
        self._paint_accent()

    @property
    def note(self) -> Note | None:
        return self._note

    @property
    def is_confirmed(self) -> bool:
        return self.takes_photos and self.confirm_box.isChecked()

    @property
    def note_gone(self) -> bool:
        """The server answered that the note shown no longer exists (deleted or moved)."""
        return self._note is not None and self._gone

    @property
    def takes_photos(self) -> bool:
        """A note is shown and, as far as the server last said, it can receive photos."""
        return self._note is not None and not self._note.is_locked and not self._gone

    def mark_gone(self) -> None:
        """The server answered 404 for the note shown: say so and refuse the confirmation."""
        if self._note is not None and not self._gone:
            self._gone = True
            self._refresh()
            self._describe()

    @property
    def patient(self) -> Patient | None:
        """The patient shown: the note's, or the one picked while no note is."""
        return self._note.patient if self._note is not None else self._patient

    def set_patient(self, patient: Patient | None) -> None:
        """The user picked a patient (or none): no note is shown until one is picked."""
        self._patient = patient
        self.set_target(None, None)

    def set_target(self, note: Note | None, provider: Provider | None) -> None:
        """Show a note (or none). A different note clears the confirmation."""
        changed = (note.id if note else None) != (self._note.id if self._note else None)
        self._note = note
        self._gone = False  # a note just read from the server exists
        if note is not None:
            self._patient = note.patient
        self._provider = provider
        if changed or note is None:
            self.uncheck()
        self._refresh()
        self._describe()
        if changed:
            self.confirmed_changed.emit(False)

    def uncheck(self) -> None:
        """Clear the box without telling anyone (the caller already knows why)."""
        self.confirm_box.blockSignals(True)
        self.confirm_box.setChecked(False)
        self.confirm_box.blockSignals(False)
        self._paint_accent()

    def set_photos_listed(self, listed: bool) -> None:
        """Whether photos for this note are listed: the confirmation covers the photos listed
        when it is given, so there must be some to confirm."""
        if listed != self._photos_listed:
            self._photos_listed = listed
            self._refresh()

    def set_provider(self, provider: Provider | None) -> None:
        self._provider = provider
        self._refresh()
        self._describe()

    def _describe(self) -> None:
        """What a screen reader says for the banner: name, DOB, MRN, visit, note state."""
        warning = self.locked_label.text() if self.locked_label.isVisibleTo(self) else ""
        shown = self.name_label.text()
        name, description = spoken_banner(
            f"Patient {shown}" if self._note else shown, self.details_label.text(), warning
        )
        self.setAccessibleName(name)
        self.setAccessibleDescription(description)
        self.confirm_box.setAccessibleDescription(f"{name}, {description}")

    def show_label_match(self, text: str, tone: Tone = Tone.SUCCESS) -> None:
        """A badge such as "Label matches MRN 1234", or a warning about another patient's
        label (``tone``); empty text hides it."""
        self.label_match.setStyleSheet(
            f"#labelMatchBadge {{ border: 1px solid {ACCENTS[tone]}; border-radius: 4px; "
            "padding: 2px 6px; font-weight: 600; }"
        )
        self.label_match.setText(text)
        self.label_match.setVisible(bool(text))

    def clear_confirmation(self) -> None:
        if self.confirm_box.isChecked():
            self.confirm_box.setChecked(False)

    def _refresh(self) -> None:
        note = self._note
        self.prompt_label.setVisible(note is None and self._patient is not None)
        if note is None:
            patient = self._patient
            if patient is None:
                self.name_label.setText("No patient chosen")
                self.details_label.setText(
                    "Find the patient on the left, then pick the visit note."
                )
            else:
                self.name_label.setText(patient.display_name)
                self.details_label.setText(
                    f"DOB {patient.date_of_birth or 'unknown'}   ·   MRN {patient.mrn or 'none'}"
                )
            self.locked_label.hide()
            self.confirm_box.setEnabled(False)
            self._paint_accent()
            return
        patient = note.patient
        self.name_label.setText(patient.display_name if patient else "Unknown patient")
        parts = []
        if patient is not None:
            parts.append(f"DOB {patient.date_of_birth or 'unknown'}")
            parts.append(f"MRN {patient.mrn or 'none'}")
        parts.append(f"Visit {visit_text(note)}")
        if note.facility and note.facility.name:
            parts.append(note.facility.name)
        parts.append("Note not found" if self._gone else f"Note {note_status_text(note).lower()}")
        details = "   ·   ".join(parts)
        if self._provider is not None:
            details += f"\nUpload as {self._provider.display_name}   ·   note id {note.id}"
        else:
            details += f"\nNote id {note.id}"
        self.details_label.setText(details)
        if note.is_locked or self._gone:
            self.locked_label.setText(
                "This note no longer exists in the EHR (deleted or moved). Choose another note."
                if self._gone
                else "This note is signed and takes no more photos. Ask the provider for an "
                "addendum or choose another note."
            )
            self.locked_label.show()
            self.confirm_box.setChecked(False)
            self.confirm_box.setEnabled(False)
        else:
            self.locked_label.hide()
            self.confirm_box.setEnabled(self._photos_listed or self.confirm_box.isChecked())
        self.confirm_hint.setText(CHECK_HINT if self._photos_listed else ADD_FIRST_HINT)
        self._paint_accent()

    def _paint_accent(self) -> None:
        if self._note is None:
            tone = Tone.NEUTRAL
        elif not self.takes_photos:
            tone = Tone.ERROR
        elif self.confirm_box.isChecked():
            tone = Tone.SUCCESS
        else:
            tone = Tone.WARNING
        self._accent.setStyleSheet(f"background: {ACCENTS[tone]}; border-radius: 3px;")

    @Slot(bool)
    def _toggled(self, checked: bool) -> None:
        self._paint_accent()
        self.confirmed_changed.emit(self.is_confirmed)
