"""Long photo names in the list are shortened in the middle by the widths of the bold font they
are shown in, so the end of the name (its extension) is never cut off, at any window width."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from maxupload.gui.photo_delegate import TEXT_END_PADDING, THUMB
from maxupload.gui.photo_model import Column
from tests.gui.conftest import TIMEOUT_MS, drop
from tests.plugins.images import photo, write_jpeg

LONG_NAMES = [
    "IMG_20261201_wound_left_forearm_before_dressing_change.JPG",
    "IMG_20261201_wound_left_forearm_after_dressing_change.JPG",
]


def name_ink_right_end(window: Any, row: int) -> tuple[int, int]:
    """The rightmost dark pixel of ``row``'s name line, and the last column its text may use."""
    table = window.table
    image = QImage(table.viewport().size(), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    table.viewport().render(image)
    rect = table.visualRect(window.model.index(row, Column.PHOTO))
    text_end = rect.right() - TEXT_END_PADDING
    ink = [
        x
        for x in range(rect.left() + THUMB, text_end + 1)
        for y in range(rect.top() + 4, rect.center().y())
        if image.pixelColor(x, y).lightness() < 120
    ]
    assert ink, "the name is drawn"
    return max(ink), text_end


def test_a_long_name_is_shortened_to_fit_with_its_end_shown(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    window = make_app().window
    paths = [
        write_jpeg(tmp_path / name, photo(640, 480, seed=i)) for i, name in enumerate(LONG_NAMES)
    ]
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, paths)
    second = next(i for i, r in enumerate(window.model.rows()) if r.name == LONG_NAMES[1])
    assert not window.table.selectionModel().isRowSelected(second)  # dark words on white

    cut_at = []
    for width in range(1000, 1480, 16):  # the photo column grows with the window
        window.resize(width, 760)
        QApplication.processEvents()
        ink_end, text_end = name_ink_right_end(window, second)
        if ink_end >= text_end:  # drawn up to the edge of its space: its last letters cut off
            cut_at.append(width)
    assert cut_at == []
