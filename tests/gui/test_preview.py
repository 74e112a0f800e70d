"""The preview pane shows the photo as it will be sent and the size of each preset."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, add_photos, confirm_patient, states


def test_preset_change_updates_the_estimates(qtbot: Any, make_app: Any, tmp_path: Path) -> None:
    window = make_app().window
    add_photos(qtbot, window, tmp_path / "cam", 2, size=(2400, 1800))
    preview = window.preview
    window.select_row(0)
    qtbot.waitUntil(lambda: bool(preview.estimates()), timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: preview.local.has_image(), timeout=TIMEOUT_MS)
    estimates = preview.estimates()
    assert set(estimates) >= {"original", "high", "standard", "small"}
    assert estimates["small"] < estimates["standard"] < estimates["original"]
    assert "1500 x 2000 px JPEG" in preview.info.text()  # upright (EXIF 6)
    assert "location" in preview.info.text()
    standard_text = preview.estimate.text()
    assert "≈" in standard_text
    # The combo lists each preset with its estimate.
    labels = [preview.preset.itemText(i) for i in range(preview.preset.count())]
    assert any("Small" in t and "KB" in t for t in labels)
    qtbot.waitUntil(lambda: all(r.size_after for r in window.model.rows()), timeout=TIMEOUT_MS)
    standard_rows = [r.size_after for r in window.model.rows()]

    preview.preset.setCurrentIndex(preview.preset.findData("small"))
    assert preview.preset_spec() == "small"
    qtbot.waitUntil(lambda: preview.estimate.text() != standard_text, timeout=TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: (
            all(r.size_after for r in window.model.rows())
            and [r.size_after for r in window.model.rows()] != standard_rows
        ),
        timeout=TIMEOUT_MS,
    )
    small_rows = [r.size_after for r in window.model.rows()]
    assert all(s < b for s, b in zip(small_rows, standard_rows, strict=True))
    qtbot.waitUntil(lambda: "900 x 1200 px" in preview.info.text(), timeout=TIMEOUT_MS)

    # A custom long edge and quality are estimated too.
    preview.preset.setCurrentIndex(preview.preset.findData("custom"))
    assert preview.custom_edge.isVisible()
    preview.custom_edge.setValue(800)
    preview.custom_quality.setValue(60)
    qtbot.waitUntil(lambda: preview.preset_spec() == "custom:800:60", timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: "custom:800:60" in preview.estimates(), timeout=TIMEOUT_MS)
    assert preview.estimates()["custom:800:60"] < estimates["small"]
    qtbot.waitUntil(lambda: "600 x 800 px" in preview.info.text(), timeout=TIMEOUT_MS)


def test_a_photo_is_prepared_once_and_its_stored_copy_downloaded_once(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    """The preview's prepared copy is the one sent (not prepared again), and the stored copy
    the preview shows is the one verification downloaded (not downloaded again)."""
    ctx = make_app()
    window = ctx.window
    add_photos(qtbot, window, tmp_path / "cam", 1, size=(2400, 1800))
    preview = window.preview
    window.select_row(0)
    qtbot.waitUntil(lambda: preview.local.has_image(), timeout=TIMEOUT_MS)
    assert len(list(ctx.engine.copies.folder.glob("copy-*.bin"))) == 1  # made for the preview
    shown_copy = next(ctx.engine.copies.folder.glob("copy-*.bin")).read_bytes()

    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    with qtbot.waitSignal(window.uploads_queued, timeout=TIMEOUT_MS):
        window.upload_action.trigger()
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)
    (upload,) = sandbox.uploads()
    assert upload["sha256"] == hashlib.sha256(shown_copy).hexdigest()  # the copy previewed
    # deleted once verified (the state is saved first, then the copy goes)
    qtbot.waitUntil(lambda: not list(ctx.engine.copies.folder.glob("copy-*")), timeout=TIMEOUT_MS)

    downloads = [e for e in sandbox.request_log() if e["path"].startswith("/_s3/")]
    assert len(downloads) == 1  # verification
    # the selected row shows its stored copy once verified (possibly before this line runs)
    window.select_row(0)
    qtbot.waitUntil(lambda: preview.stored.has_image(), timeout=TIMEOUT_MS)
    assert preview.signed_url() is not None
    assert [e for e in sandbox.request_log() if e["path"].startswith("/_s3/")] == downloads
