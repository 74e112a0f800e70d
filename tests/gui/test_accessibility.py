"""What a screen reader gets: a name for every focusable control (walking the widget tree), the
patient banner's name and description, and spoken errors and batch results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAccessible
from PySide6.QtWidgets import QWidget

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, choose_note, ready_to_upload, states


def spoken_name(widget: QWidget) -> str:
    """The name the accessibility bridge reports (own name, button text or label buddy)."""
    iface = QAccessible.queryAccessibleInterface(widget)
    assert iface is not None, widget
    return iface.text(QAccessible.Text.Name).strip()


def unnamed_focusable(root: QWidget) -> list[str]:
    missing = []
    for widget in [root, *root.findChildren(QWidget)]:
        if not widget.isVisibleTo(root) or not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if not spoken_name(widget):
            missing.append(f"{type(widget).__name__} {widget.objectName()!r}")
    return missing


def test_every_focusable_control_has_a_name(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    assert unnamed_focusable(window) == []
    # With a note, photos and the custom size showing, and in the settings dialog.
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam")
    window.preview.preset.setCurrentIndex(window.preview.preset.findData("custom"))
    assert unnamed_focusable(window) == []
    ctx.open_settings()
    assert unnamed_focusable(ctx.settings_dialog) == []
    ctx.settings_dialog.close()


def test_banner_names_the_patient_dob_mrn_and_visit(
    qtbot: Any, make_app: Any, sandbox: SandboxServer
) -> None:
    window = make_app().window
    banner = window.banner
    assert "No patient chosen" in banner.accessibleName()
    choose_note(qtbot, window, sandbox.demo.open_note_id)
    note = banner.note
    assert note is not None and note.patient is not None
    assert note.patient.display_name in banner.accessibleName()
    description = banner.accessibleDescription().lower()
    for fact in (note.patient.date_of_birth, note.patient.mrn, "visit ", "note ", "upload as"):
        assert fact and fact.lower() in description, (fact, description)
    # The confirmation box carries the same facts, so ticking it is an informed act.
    assert note.patient.mrn in banner.confirm_box.accessibleDescription()


def test_errors_and_batch_results_are_announced(
    qtbot: Any, make_app: Any, make_sandbox: Any, tmp_path: Path
) -> None:
    server = make_sandbox()
    ctx = make_app(server=server, key=server.demo.readonly_key)
    window = ctx.window
    said: list[tuple[str, bool]] = []
    window.announcer.announced.connect(lambda text, urgent: said.append((text, urgent)))
    ready_to_upload(qtbot, window, server, tmp_path / "cam")
    window.upload()
    qtbot.waitUntil(lambda: states(window) == ["failed"], timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: any(urgent for _, urgent in said), timeout=TIMEOUT_MS)
    error = next(text for text, urgent in said if urgent)
    assert "IMG_0000.JPG" in error and "write:notes" in error
    qtbot.waitUntil(lambda: any(not urgent for _, urgent in said), timeout=TIMEOUT_MS)
    assert any("needs you" in text.lower() for text, urgent in said if not urgent), said


def test_a_finished_batch_is_announced(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    said: list[str] = []
    window.announcer.announced.connect(lambda text, _urgent: said.append(text))
    ready_to_upload(qtbot, window, sandbox, tmp_path / "cam", count=2)
    window.upload()
    qtbot.waitUntil(lambda: any("Upload finished" in t for t in said), timeout=60_000)
    assert any("2 photos are in the EHR" in t for t in said), said


def test_status_bar_names_the_clinic_and_environment_in_words(
    qtbot: Any, make_app: Any, sandbox: SandboxServer
) -> None:
    ctx = make_app()
    window = ctx.window
    label = window.connection_label
    assert "Local sandbox" in label.text()
    choose_note(qtbot, window, sandbox.demo.open_note_id)
    facility = window.banner.note.facility
    assert facility is not None and f"Clinic: {facility.name}" in label.text()
    for raw in (sandbox.base_url, sandbox.demo.org_id, "http"):
        assert raw not in label.text()
