"""The target is only what the user picked: switching patients never retargets by itself."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, add_photos, upload_requests
from tests.gui.picking import notes_of, pick_note, pick_patient


def test_switching_patient_never_retargets(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """Nguyen, a note, then Okafor: the banner asks for Okafor's note; nothing is picked."""
    window = make_app().window
    add_photos(qtbot, window, tmp_path / "cam", 2)
    pick_patient(qtbot, window, sandbox, "Nguyen")
    nguyen_notes = notes_of(sandbox, "Nguyen")
    assert len(nguyen_notes) == 2
    pick_note(qtbot, window, nguyen_notes[0])
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    window.banner.confirm_box.click()
    assert window.banner.is_confirmed

    pick_patient(qtbot, window, sandbox, "Okafor")
    # Okafor is picked, no note is: the banner names him and asks for the note.
    assert window.banner.note is None
    assert "Okafor" in window.banner.name_label.text()
    assert "Pick the visit note" in window.banner.prompt_label.text()
    assert window.banner.prompt_label.isVisible()
    assert not window.banner.is_confirmed
    assert window.target.current_provider() is None
    assert window.target.notes.currentItem() is None
    assert not window.target.notes.selectedItems()
    assert not window.status_panel.upload.isEnabled()
    # Tabbing into the note list (keyboard focus, no choice made) picks nothing either.
    window.activateWindow()
    notes = window.target.notes
    window.target.patients.setFocus()
    qtbot.keyClick(window.target.patients, Qt.Key.Key_Tab)
    qtbot.waitUntil(notes.hasFocus, timeout=TIMEOUT_MS)
    assert window.banner.note is None
    assert not notes.selectedItems()

    # Back to Nguyen by keys and click: still nothing picked until the user clicks a note.
    pick_patient(qtbot, window, sandbox, "Nguyen")
    assert window.banner.note is None
    assert "Nguyen" in window.banner.name_label.text()
    window.upload()
    assert not upload_requests(sandbox)


def test_opening_a_note_by_id_shows_its_patient_and_selects_nothing_else(
    qtbot: Any, make_app: Any, sandbox: SandboxServer
) -> None:
    window = make_app().window
    pick_patient(qtbot, window, sandbox, "Nguyen")
    okafor_note = notes_of(sandbox, "Okafor")[0]
    note_id = window.target.note_id
    note_id.setFocus()
    qtbot.keyClicks(note_id, okafor_note)
    qtbot.keyClick(note_id, Qt.Key.Key_Return)
    qtbot.waitUntil(
        lambda: window.banner.note is not None and window.banner.note.id == okafor_note,
        timeout=TIMEOUT_MS,
    )
    assert "Okafor" in window.banner.name_label.text()
    assert not window.target.patients.selectedItems()
    assert window.target.notes.count() == 0  # Nguyen's notes are no longer offered
    assert not window.banner.is_confirmed
