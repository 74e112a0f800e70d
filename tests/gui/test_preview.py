"""The preview pane shows the photo as it will be sent and the size of each preset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gui.conftest import TIMEOUT_MS, add_photos


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
