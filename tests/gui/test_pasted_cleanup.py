"""Pasted image data is kept in the cache only while a photo in the list needs it."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor, QGuiApplication, QImage

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, confirm_patient, states


def _paste_image(qtbot: Any, window: Any, colour: str = "#c08060") -> Path:
    image = QImage(320, 200, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    QGuiApplication.clipboard().setImage(image)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS) as signal:
        window.paste_action.trigger()
    assert signal.args == [1, 0]
    pasted: Path = window.model.rows()[-1].path
    assert pasted.parent.name == "pasted" and pasted.is_file()
    return pasted


def test_pasted_image_is_deleted_once_its_upload_is_verified(
    qtbot: Any, make_app: Any, sandbox: SandboxServer
) -> None:
    ctx = make_app()
    window = ctx.window
    pasted = _paste_image(qtbot, window)
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)

    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        window.upload_action.trigger()
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)
    assert len(sandbox.uploads()) == 1

    qtbot.waitUntil(lambda: not pasted.exists(), timeout=TIMEOUT_MS)


def test_pasted_image_is_deleted_when_its_row_is_removed(qtbot: Any, make_app: Any) -> None:
    window = make_app().window
    pasted = _paste_image(qtbot, window)
    window.table.setFocus()
    window.table.selectAll()
    window.remove_action.trigger()
    assert window.model.rowCount() == 0

    qtbot.waitUntil(lambda: not pasted.exists(), timeout=TIMEOUT_MS)


def test_start_sweeps_pasted_images_older_than_a_day(
    qtbot: Any, make_app: Any, app_home: Path
) -> None:
    folder = app_home / "cache" / "pasted"
    folder.mkdir(parents=True)
    old = folder / "pasted-20260101-000000-1-0001.png"
    fresh = folder / "pasted-20260101-000000-1-0002.png"
    for path in (old, fresh):
        path.write_bytes(b"\x89PNG\r\n\x1a\n")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))

    ctx = make_app()
    assert ctx.cache_dir / "pasted" == folder

    qtbot.waitUntil(lambda: not old.exists(), timeout=TIMEOUT_MS)
    assert fresh.exists()
