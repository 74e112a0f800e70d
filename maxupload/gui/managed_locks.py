"""Shows in the Settings dialog which values the clinic's IT department set and locked."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QLabel, QSpinBox, QWidget

from maxupload.core.config.managed import ManagedSettings
from maxupload.gui import names
from maxupload.gui.status_text import ACCENTS, Tone

LOCKED_TEXT = "Set by your IT department"


def apply_locks(
    form: QFormLayout, managed: ManagedSettings, fields: dict[str, list[QWidget]]
) -> None:
    """Disable the widgets of each locked setting and say, under them, who set it.

    ``fields`` maps a setting name to its widgets (the first one's row gets the note).
    """
    for name, widgets in fields.items():
        if not managed.is_locked(name) or not widgets:
            continue
        tip = f"{LOCKED_TEXT} (in {managed.path}); it cannot be changed here."
        for widget in widgets:
            widget.setEnabled(False)
            widget.setToolTip(tip)
        note = QLabel(f"{LOCKED_TEXT}.")
        note.setToolTip(tip)
        note.setStyleSheet(f"color: {ACCENTS[Tone.BUSY]};")
        row, _role = form.getWidgetPosition(widgets[-1])
        form.insertRow(row + 1, "", note)


def retention_box(days: int) -> QSpinBox:
    """How many days the upload history keeps a photo's record (IT may lock it)."""
    box = QSpinBox()
    box.setObjectName(names.SETTINGS_HISTORY_RETENTION)
    box.setAccessibleName("Days the upload history keeps a photo")
    box.setRange(1, 36500)
    box.setSuffix(" days")
    box.setValue(days)
    box.setToolTip("Older records are removed from the History (Ctrl+H) when MaxUpload starts.")
    return box
