"""Every row shows the patient it is queued for; rows of another patient are grouped under
their own header and never sent under the banner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt

from maxupload.gui.photo_delegate import HEADER_HEIGHT, ROW_HEIGHT
from maxupload.gui.photo_model import HEADER_ROLE, OTHER_ROLE
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, drop, make_photos, states, upload_requests
from tests.gui.picking import notes_of, pick_note, pick_patient, queued_earlier

OKAFOR = "Okafor, Daniel (MRN MM0000000102, DOB 1979-11-05), visit Mar 19, 2026"


def groups(window: Any) -> list[str]:
    """The group of each row, in table order."""
    return [r.group for r in window.model.rows()]


def test_rows_of_another_patient_are_grouped_and_never_sent_under_the_banner(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    okafor_note = notes_of(sandbox, "Okafor")[0]
    rivera_note = sandbox.demo.open_note_id
    queue = tmp_path / "queue.sqlite3"
    queued_earlier(queue, sandbox, okafor_note, make_photos(tmp_path / "okafor", 2), OKAFOR)
    window = make_app(queue_path=queue).window
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=TIMEOUT_MS)

    # Rivera is picked by keys and clicks; Rivera's photos are dropped.
    pick_patient(qtbot, window, sandbox, "Rivera")
    pick_note(qtbot, window, rivera_note)
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    rivera = make_photos(tmp_path / "rivera", 3)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, rivera)
    qtbot.waitUntil(lambda: window.model.rowCount() == 5, timeout=TIMEOUT_MS)

    # Two groups, each with its header; Okafor's is marked as not the banner's note.
    model = window.model
    assert groups(window) == [okafor_note] * 2 + [""] * 3
    headers = [model.index(i, 0).data(HEADER_ROLE) for i in range(5)]
    assert headers[0].startswith("Not sent under this banner")
    assert "queued for Okafor, Daniel (MRN MM0000000102" in headers[0]
    assert headers[2].startswith("New photos")
    assert headers[1] == headers[3] == headers[4] == ""
    assert [bool(model.index(i, 0).data(OTHER_ROLE)) for i in range(5)] == [True] * 2 + [False] * 3
    spoken = model.index(1, 0).data(Qt.ItemDataRole.AccessibleTextRole)
    assert "for Okafor, Daniel" in spoken and "not sent under it" in spoken
    vh = window.table.verticalHeader()
    qtbot.waitUntil(lambda: vh.sectionSize(2) == ROW_HEIGHT + HEADER_HEIGHT, timeout=TIMEOUT_MS)
    assert vh.sectionSize(0) == ROW_HEIGHT + HEADER_HEIGHT
    assert vh.sectionSize(1) == vh.sectionSize(3) == ROW_HEIGHT

    # Confirming Rivera covers Rivera's photos only; Okafor's rows stay where they are.
    window.banner.confirm_box.click()
    assert window.status_panel.upload.text() == "Upload 3 photos to Rivera, Elena"
    assert model.index(2, 0).data(HEADER_ROLE).startswith("New photos, confirmed for Rivera")
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        qtbot.mouseClick(window.status_panel.upload, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: states(window).count("verified") == 3, timeout=60_000)
    sent_to = {r["path"].split("/")[-2] for r in upload_requests(sandbox)}
    assert sent_to == {rivera_note}
    assert len(sandbox.uploads()) == 3
    okafor_rows = [r for r in model.rows() if r.note_id == okafor_note]
    assert [r.state for r in okafor_rows] == ["queued", "queued"]
    # The sent photos now show the patient they went to, in their own group.
    rivera_rows = [r for r in model.rows() if r.note_id == rivera_note]
    assert len(rivera_rows) == 3 and all(r.patient == "Rivera, Elena" for r in rivera_rows)
    assert groups(window) == [okafor_note] * 2 + [rivera_note] * 3
    assert model.index(2, 0).data(HEADER_ROLE).startswith("Queued for Rivera, Elena")
    # The visit time in the header is the facility's (Los Angeles), with its abbreviation.
    assert "visit 2026-03-20 11:30 PDT" in model.index(2, 0).data(HEADER_ROLE)
    assert not model.index(2, 0).data(OTHER_ROLE)
