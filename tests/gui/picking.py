"""Picking the target as a person does: typing the search, clicking the patient and the note."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget

from maxupload.core.api.models import Target
from maxupload.core.intake import hash_file
from maxupload.core.queue.model import NewItem
from maxupload.core.queue.store import QueueStore
from maxupload.gui.target_panel import DATA_ROLE
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS


def search_by_keys(qtbot: Any, window: Any, text: str) -> None:
    """Type the search text as a person does (select all, type, Enter) and wait for results."""
    search = window.target.search
    search.setFocus()
    qtbot.keyClick(search, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(search, text)
    qtbot.keyClick(search, Qt.Key.Key_Return)
    patients = window.target.patients

    def listed() -> bool:
        return patients.count() > 0 and all(
            text.lower() in patients.item(i).text().lower() for i in range(patients.count())
        )

    qtbot.waitUntil(listed, timeout=TIMEOUT_MS)


def click_row(qtbot: Any, widget: QListWidget, row: int) -> None:
    """Click a list row with the mouse, at the middle of the row."""
    item = widget.item(row)
    widget.scrollToItem(item)
    rect = widget.visualItemRect(item)
    qtbot.mouseClick(widget.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def note_ids(widget: QListWidget) -> list[str]:
    return [widget.item(i).data(DATA_ROLE).id for i in range(widget.count())]


def notes_of(sandbox: SandboxServer, last_name: str) -> list[str]:
    return [n["id"] for n in sandbox.demo.notes if n["patient"]["lastName"] == last_name]


def pick_patient(qtbot: Any, window: Any, sandbox: SandboxServer, last_name: str) -> None:
    """Search by keys, click the patient, wait until their notes are listed."""
    search_by_keys(qtbot, window, last_name)
    click_row(qtbot, window.target.patients, 0)
    expected = set(notes_of(sandbox, last_name))
    qtbot.waitUntil(lambda: set(note_ids(window.target.notes)) == expected, timeout=TIMEOUT_MS)


def pick_note(qtbot: Any, window: Any, note_id: str) -> None:
    notes = window.target.notes
    click_row(qtbot, notes, note_ids(notes).index(note_id))
    qtbot.waitUntil(
        lambda: window.banner.note is not None and window.banner.note.id == note_id,
        timeout=TIMEOUT_MS,
    )


def queued_earlier(
    queue: Path, sandbox: SandboxServer, note_id: str, photos: list[Path], label: str
) -> None:
    """Photos a previous session queued for ``note_id`` and never sent (a queue file to
    restore at start-up)."""
    provider = sandbox.demo.note(note_id)["assignedProviders"][0]["id"]
    target = Target(
        org_id=sandbox.demo.org_id,
        note_id=note_id,
        provider_id=provider,
        patient_label=label,
        base_url=sandbox.base_url,
    )
    store = QueueStore(queue)
    try:
        store.add([NewItem(p, p.stat().st_size, hash_file(p)) for p in photos], target, "standard")
    finally:
        store.close()
