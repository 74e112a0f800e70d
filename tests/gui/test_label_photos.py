"""The window with the product's own photo checks: a photo of another patient's wristband label
is shown as not for this patient and never sent. Runs once the label check is installed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maxupload.core.queue.model import ItemState
from maxupload.sandbox import SandboxServer
from tests.commands.test_upload_labels import other_patients_label_photo
from tests.gui.conftest import TIMEOUT_MS, confirm_patient, drop, make_photos
from tests.gui.test_photo_checks import press_ctrl_u

label_photos = pytest.importorskip("tests.plugins.label_photos")
pytest.importorskip("zxingcpp")


def test_another_patients_label_is_not_sent_from_the_window(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    label, mrn = other_patients_label_photo(sandbox, tmp_path / "batch")
    (wound,) = make_photos(tmp_path / "batch", 1)
    window = make_app().window
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [label, wound])
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)

    def label_row() -> Any:
        return next(r for r in window.model.rows() if r.path == label)

    qtbot.waitUntil(lambda: label_row().check_stop is not None, timeout=TIMEOUT_MS)
    assert mrn in label_row().status.label
    window.activateWindow()
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        press_ctrl_u(qtbot, window)
    qtbot.waitUntil(
        lambda: any(r.state == ItemState.VERIFIED for r in window.model.rows()), timeout=60_000
    )
    assert len(sandbox.uploads()) == 1
    assert label_row().is_staged


def test_a_label_naming_the_patient_id_shows_the_charts_mrn_on_the_badge(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    demo = sandbox.demo
    patient = next(n for n in demo.notes if n["id"] == demo.open_note_id)["patient"]
    sticker = label_photos.code_sticker(f'{{"patientId": "{patient["id"]}"}}', "qr", 8)
    photo = label_photos.save_photo(tmp_path / "band.jpg", label_photos.scene([sticker], span=0.3))
    window = make_app().window
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, [photo])
    confirm_patient(qtbot, window, demo.open_note_id)
    qtbot.waitUntil(lambda: window.banner.label_match.isVisible(), timeout=TIMEOUT_MS)
    assert window.banner.label_match.text() == f"Label matches MRN {patient['mrn']}"
