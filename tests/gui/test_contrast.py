"""Every status colour used as text keeps WCAG AA contrast (4.5:1) on its real background, in the
light and in the dark palette."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel, QStyleFactory

from maxupload.core.outcomes import Outcome, OutcomeKind
from maxupload.gui.palettes import dark_palette
from maxupload.gui.photo_model import Column
from maxupload.gui.status_text import (
    MIN_TEXT_CONTRAST,
    Tone,
    contrast_ratio,
)
from maxupload.gui.tone_colors import text_color
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import TIMEOUT_MS, add_photos, choose_note

ROLES = QPalette.ColorRole


def light_palette() -> QPalette:
    style = QStyleFactory.create("Fusion")
    assert style is not None
    return style.standardPalette()


PALETTES = {"light": light_palette, "dark": dark_palette}


@pytest.fixture(params=sorted(PALETTES))
def palette(request: Any, qapp: QApplication) -> Iterator[QPalette]:
    """Run the test under the light and the dark palette (the app's palette is restored)."""
    before = qapp.palette()
    pal = PALETTES[request.param]()
    qapp.setPalette(pal)
    yield pal
    qapp.setPalette(before)


def ratio(fg: Any, bg: Any) -> float:
    return contrast_ratio(fg.name(), bg.name())


def test_every_tone_reads_on_every_background_of_the_palette(palette: QPalette) -> None:
    for tone in Tone:
        for role in (ROLES.Window, ROLES.Base, ROLES.AlternateBase, ROLES.Button):
            fg, bg = text_color(tone, palette, role), palette.color(role)
            assert ratio(fg, bg) >= MIN_TEXT_CONTRAST, (tone, role, fg.name(), bg.name())


def test_window_text_in_status_colours_passes_in_both_palettes(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, tmp_path: Path, palette: QPalette
) -> None:
    window = make_app().window
    # A signed note: the banner says so in red.
    choose_note(qtbot, window, sandbox.demo.signed_note_id)
    qtbot.waitUntil(window.banner.locked_label.isVisible, timeout=TIMEOUT_MS)
    # The rate-limit countdown (amber) and a list of files not added (amber title).
    window.status_panel.set_rate_limit(12)
    (tmp_path / "notes.txt").write_text("not a photo")
    add_photos(qtbot, window, tmp_path / "cam", 1)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        window.add_paths([tmp_path / "notes.txt"])
    labels: list[QLabel] = [
        window.banner.locked_label,
        window.status_panel.rate,
        window.rejections.title,
    ]
    window.status_panel.set_rate_limit(12)  # (the countdown timer hides it again shortly)
    for label in labels:
        assert label.isVisible() or label is window.status_panel.rate, label.text()
        label.ensurePolished()
        pal = label.palette()
        fg, bg = pal.color(ROLES.WindowText), pal.color(label.backgroundRole())
        assert fg != palette.color(ROLES.WindowText), "the label is not in a status colour"
        assert ratio(fg, bg) >= MIN_TEXT_CONTRAST, (label.text(), fg.name(), bg.name())

    # Every photo status, as the list colours it, on the list's background.
    model = window.model
    for kind in OutcomeKind:
        model.update_row(0, outcome=Outcome(kind, str(kind), "Why.", "What next."))
        fg = model.index(0, Column.STATUS).data(Qt.ItemDataRole.ForegroundRole)
        for role in (ROLES.Base, ROLES.AlternateBase):
            assert ratio(fg, palette.color(role)) >= MIN_TEXT_CONTRAST, (kind, fg.name())


def test_status_colours_follow_a_palette_switch_while_running(
    qtbot: Any, make_app: Any, sandbox: SandboxServer, qapp: QApplication
) -> None:
    before = qapp.palette()
    window = make_app().window
    choose_note(qtbot, window, sandbox.demo.signed_note_id)
    label = window.banner.locked_label
    qtbot.waitUntil(label.isVisible, timeout=TIMEOUT_MS)
    try:
        for pal in (dark_palette(), light_palette()):
            qapp.setPalette(pal)  # the desktop switched between light and dark
            label.ensurePolished()
            fg = label.palette().color(ROLES.WindowText)
            bg = pal.color(ROLES.Window)
            assert ratio(fg, bg) >= MIN_TEXT_CONTRAST, (fg.name(), bg.name())
    finally:
        qapp.setPalette(before)
