"""The heading label the panels put above their sections, one look for all of them."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel


def heading(text: str) -> QLabel:
    """A label in the panels' heading weight (semi-bold, the widget's own size)."""
    label = QLabel(text)
    font = label.font()
    font.setWeight(font.Weight.DemiBold)
    label.setFont(font)
    return label
