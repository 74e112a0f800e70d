"""The window on a full disk: Upload says the disk holding MaxUpload's data is full and what to
do, keeps the photos listed, and sends them once space is freed. A real size-limited tmpfs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, ready_to_upload, states
from tests.plugins.small_disk import SmallDisk


def test_upload_on_a_full_disk_says_so_and_goes_on_after_space_is_freed(
    qtbot: Any,
    make_app: Any,
    sandbox: SandboxServer,
    tmp_path: Path,
    small_disk: SmallDisk,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MAXUPLOAD_HOME", str(small_disk.root / "home"))
    ctx = make_app()
    window = ctx.window
    try:
        ready_to_upload(qtbot, window, sandbox, tmp_path / "visit", count=2)
        small_disk.fill()
        panel = window.status_panel
        qtbot.mouseClick(panel.upload, Qt.MouseButton.LeftButton)
        # As a person sees it: the message, and Upload no longer "Sending…". The message can come
        # first, from the photo checks saved in the background, while Upload still reads them.
        qtbot.waitUntil(
            lambda: (
                "disk holding MaxUpload's data is full" in panel.error_text.text()
                and panel.upload.isEnabled()
            ),
            timeout=TIMEOUT_MS,
        )
        assert "free space" in panel.error_text.text()
        assert len(window.model.staged_rows()) == 2  # the photos are still listed
        assert sandbox.uploads() == []

        small_disk.free()
        with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
            qtbot.mouseClick(panel.upload, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=60_000)
        assert len(sandbox.uploads()) == 2
    finally:
        small_disk.free()
