"""Start-up work after the first paint: one step per turn of the event loop, so what the user
does between steps is handled at once, and everything is loaded soon after the window shows."""

from __future__ import annotations

import gc
import sys
from pathlib import Path
from typing import Any

from PIL import Image
from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QLineEdit, QTableView

from maxupload.gui.warm_up import WarmUp
from tests.gui.conftest import close_app


def test_steps_run_one_per_turn_of_the_event_loop_and_a_failing_one_does_not_stop_the_rest(
    qtbot: Any,
) -> None:
    seen: list[str] = []

    def first() -> None:
        seen.append("first")
        QTimer.singleShot(0, lambda: seen.append("event between steps"))

    def broken() -> None:
        seen.append("broken")
        raise ImportError("a codec this install does not have")

    warm = WarmUp([first, broken, lambda: seen.append("last")])
    assert not warm.finished and seen == []  # nothing runs before the event loop does
    warm.start()
    qtbot.waitUntil(lambda: warm.finished)
    assert seen == ["first", "event between steps", "broken", "last"]


def test_the_window_is_shown_first_and_codecs_and_dialogs_load_after_it(
    qtbot: Any, make_app: Any
) -> None:
    ctx = make_app()
    assert ctx.window.isVisible()
    search = ctx.window.target.search
    search.setFocus()
    qtbot.keyClicks(search, "Riv")  # typing while the rest loads
    qtbot.waitUntil(lambda: ctx.warm_up.finished)
    assert isinstance(search, QLineEdit) and search.text() == "Riv"
    assert Image._initialized == 2  # every Pillow codec registered
    assert Image.registered_extensions().get(".heic") == "HEIF"
    assert "zxingcpp" in sys.modules
    assert "maxupload.gui.settings_dialog" in sys.modules
    # What start-up made is set aside from the cycle collector, until the window is closed.
    assert gc.get_freeze_count() > 10_000
    close_app(ctx)
    assert gc.get_freeze_count() == 0


def test_the_sample_rows_paint_leaves_the_window_as_it_was(qtbot: Any, make_app: Any) -> None:
    from PySide6.QtWidgets import QApplication

    from maxupload.gui.warm_up import paint_sample_rows

    ctx = make_app()
    qtbot.waitUntil(lambda: ctx.warm_up.finished)  # it ran once already, as the first step
    table = ctx.window.table
    shown = {w for w in QApplication.topLevelWidgets() if w.isVisible()}
    paint_sample_rows(table)
    assert table.model() is ctx.window.model and ctx.window.model.rowCount() == 0
    assert {w for w in QApplication.topLevelWidgets() if w.isVisible()} == shown
    assert not ctx.window.model.has_thumbnail(Path("IMG_0001.JPG"))
    # The sample list, a hidden child of the list's own parent for the same style sheet, is gone.
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert ctx.window.drop_zone.findChildren(QTableView) == [table]
