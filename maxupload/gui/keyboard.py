"""Keyboard order of the main window: Tab walks the steps in the order a user takes them.

Find the patient, pick the note and provider, confirm, add photos, choose the size, check the
list and the preview, then Upload. Widgets hidden at the moment are skipped by Qt itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget


def chain_focus(widgets: Iterable[QWidget | None]) -> list[QWidget]:
    """Make Tab visit ``widgets`` in this order (``None`` entries are left out)."""
    order = [w for w in widgets if w is not None]
    for first, second in itertools.pairwise(order):
        QWidget.setTabOrder(first, second)
    return order


def window_focus_order(window: Any) -> list[QWidget]:
    """The Tab order of the main window's controls, step by step."""
    target = window.target
    preview = window.preview
    status = window.status_panel
    return [
        target.search,
        target.patients,
        target.notes,
        target.note_id,
        target.open_button,
        target.provider,
        window.banner.confirm_box,
        window.add_button,
        window.paste_button,
        window.remove_button,
        window.retry_button,
        window.send_again_button,
        window.settings_button,
        *preview.size_control.focus_widgets(),
        window.drop_zone.add_hint_button,
        window.table,
        window.rejections.list,
        window.rejections.clear_button,
        *preview.focus_widgets(),
        status.error_action,
        status.error_copy,
        status.error_dismiss,
        status.upload,
    ]


def apply_window_focus_order(window: Any) -> list[QWidget]:
    """Set the main window's Tab order and start in the patient search."""
    order = chain_focus(window_focus_order(window))
    window.target.search.setFocus(Qt.FocusReason.OtherFocusReason)
    return order
