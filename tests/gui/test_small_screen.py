"""Small screens and the preview: the window fits 1024x700 with six photos in view and nothing
cut off, does not grow when panels appear, and the preview is large, zoomable and comparable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRect, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QWidget,
)
from pytestqt.exceptions import TimeoutError as QtTimeout

from maxupload.gui.compare_dialog import CompareDialog
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, add_photos, confirm_patient, states

SMALL = (1024, 700)
INTERNAL_PARENTS = (QAbstractScrollArea, QComboBox, QLineEdit, QAbstractSpinBox)


def settle(qtbot: Any, window: Any, size: tuple[int, int]) -> None:
    window.resize(*size)
    qtbot.waitUntil(lambda: (window.width(), window.height()) == size, timeout=TIMEOUT_MS)
    QApplication.processEvents()


def visible_rows(window: Any) -> int:
    table = window.table
    height = table.viewport().height()
    return sum(
        1
        for i in range(window.model.rowCount())
        if table.rowViewportPosition(i) >= 0
        and table.rowViewportPosition(i) + table.rowHeight(i) <= height
    )


def clipped(window: Any) -> list[str]:
    """Visible widgets that are smaller than they need, or reach outside the window."""
    bad = []
    inside = window.rect()
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.window() is not window or w.width() == 0:
            continue
        top_left = w.mapTo(window, w.rect().topLeft())
        rect = QRect(top_left, w.size())
        parent = w.parentWidget()
        if isinstance(parent, INTERNAL_PARENTS):
            continue  # parts of one Qt control, sized by the control itself
        name = w.objectName() or f"{type(w).__name__} in {parent.objectName()}"
        if not inside.contains(rect):
            bad.append(f"{name} outside the window: {rect}")
        if isinstance(w, QLabel) and w.text().strip() and w.wordWrap():
            need = w.heightForWidth(w.width())
            if need > w.height() + 1:
                bad.append(f"{name} cut off ({w.height()} of {need} px): {w.text()[:40]!r}")
        elif w.minimumHeight() == w.maximumHeight():
            continue  # a height set on purpose (a list that scrolls)
        elif w.minimumSizeHint().height() > w.height() + 1 and w.sizePolicy().verticalPolicy() != (
            w.sizePolicy().Policy.Ignored
        ):
            bad.append(f"{name} squeezed ({w.height()} < {w.minimumSizeHint().height()} px)")
    return bad


def parts(window: Any) -> dict[str, tuple[int, int, str]]:
    """Height, minimum height and text of the window's main parts (to explain a failure)."""
    found = {}
    for w in window.centralWidget().findChildren(QWidget):
        if w.parentWidget() is window.centralWidget() and w.isVisible():
            text = w.text()[:60] if isinstance(w, QLabel) else ""
            found[w.objectName() or type(w).__name__] = (
                w.height(),
                w.minimumSizeHint().height(),
                text,
            )
    found["error"] = (0, 0, window.status_panel.error_text.text()[:80])
    found["target message"] = (0, 0, window.target.message.text())
    return found


def settled(qtbot: Any, window: Any) -> None:
    """Wait until the layout has caught up with the last change and nothing is cut off."""
    try:
        qtbot.waitUntil(lambda: clipped(window) == [], timeout=5000)
    except QtTimeout:
        raise AssertionError((clipped(window), parts(window))) from None


def test_fits_1024x700_with_six_rows_and_nothing_cut_off(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    minimum = window.minimumSize()
    assert minimum.width() <= 1000 and minimum.height() <= 660
    settle(qtbot, window, SMALL)
    add_photos(qtbot, window, tmp_path / "cam", 8)
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    window.show_notice("8 photos from the last session wait for Rivera, Elena.")
    QApplication.processEvents()
    assert (window.width(), window.height()) == SMALL
    assert visible_rows(window) >= 6
    settled(qtbot, window)
    # The MRN and the visit stay readable in the banner.
    details = window.banner.details_label
    assert window.banner.note.patient.mrn in details.text()
    assert details.heightForWidth(details.width()) <= details.height() + 1

    # Files not added and an error appear: the window keeps its size, the list gives room.
    (tmp_path / "notes.txt").write_text("not a photo")
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        window.add_paths([tmp_path / "notes.txt"])
    window.select_row(0)
    from maxupload.core.outcomes import Outcome, OutcomeKind

    window.status_panel.show_error(
        Outcome(
            OutcomeKind.FAILED,
            "not_found",
            "The note was not found.",
            "Check the note id.",
            "trace-1",
        ),
        "IMG_0000.JPG",
    )
    QApplication.processEvents()
    assert (window.width(), window.height()) == SMALL
    layout_min = window.layout().minimumSize()
    assert layout_min.width() <= SMALL[0] and layout_min.height() <= SMALL[1], layout_min
    settled(qtbot, window)
    assert visible_rows(window) >= 2


def test_minimum_window_keeps_every_control_whole(qtbot: Any, make_app: Any) -> None:
    window = make_app().window
    size = (window.minimumWidth(), window.minimumHeight())
    settle(qtbot, window, size)
    settled(qtbot, window)


def test_preview_is_large_zooms_to_100_and_pans(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    settle(qtbot, window, (1280, 800))
    add_photos(qtbot, window, tmp_path / "cam", 1, size=(2400, 1800))
    window.select_row(0)
    view = window.preview.local
    qtbot.waitUntil(view.has_image, timeout=TIMEOUT_MS)
    assert view.width() >= 400
    fitted = view.image_rect()
    assert max(fitted.width(), fitted.height()) >= 400, fitted
    # The size setting is the batch's: it sits by the photo list, not in the photo's pane.
    size_box = window.preview.size_control
    assert not window.preview.isAncestorOf(size_box)
    assert window.drop_zone.parentWidget().isAncestorOf(size_box)

    # Keys on the focused preview: 1 = actual pixels, arrows pan, 0 = fit again.
    view.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(view, Qt.Key.Key_1)
    assert view.percent() == 100 and view.zoom() == 1.0 / view.devicePixelRatioF()
    shown = view.image_rect()
    assert shown.width() * view.devicePixelRatioF() == view.image_size().width() > view.width()
    before = view.center()
    qtbot.keyClick(view, Qt.Key.Key_Right)
    qtbot.keyClick(view, Qt.Key.Key_Down)
    after = view.center()
    assert after.x() > before.x() and after.y() > before.y()
    # Dragging with the mouse moves the picture with the hand.
    start = QPointF(view.width() / 2, view.height() / 2).toPoint()
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(view, start + QPointF(-40, 0).toPoint())
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPointF(-40, 0).toPoint())
    assert view.center().x() > after.x()
    qtbot.keyClick(view, Qt.Key.Key_0)
    assert view.zoom() is None and view.image_rect() == fitted


def test_compare_shows_the_stored_copy_side_by_side_at_100(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path
) -> None:
    window = make_app().window
    add_photos(qtbot, window, tmp_path / "cam", 1, size=(1600, 1200))
    confirm_patient(qtbot, window, sandbox.demo.open_note_id)
    window.upload()
    qtbot.waitUntil(lambda: states(window) == ["verified"], timeout=60_000)
    window.select_row(0)
    preview = window.preview
    qtbot.waitUntil(
        lambda: preview.stored.has_image() and preview.local.has_image(), timeout=TIMEOUT_MS
    )
    preview.compare_button.click()
    dialog = window.findChild(CompareDialog)
    assert dialog is not None and dialog.isVisible()
    assert dialog.local.has_image() and dialog.stored.has_image()
    left, right = dialog.local.geometry(), dialog.stored.geometry()
    assert left.right() < right.left() and abs(left.top() - right.top()) <= 1
    dialog.local.setFocus()
    qtbot.keyClick(dialog.local, Qt.Key.Key_1)
    assert dialog.local.percent() == 100 == dialog.stored.percent()
    qtbot.keyClick(dialog.local, Qt.Key.Key_Left)
    assert dialog.stored.center() == dialog.local.center()
    dialog.close()
