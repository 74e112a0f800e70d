"""A dark palette like a desktop in dark mode: the screenshots and the contrast test use it to
check that nothing in the window assumes a light background."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette


def dark_palette() -> QPalette:
    """The dark palette (window, text, list, button, highlight and disabled text colours)."""
    pal = QPalette()
    roles = QPalette.ColorRole
    for role, color in (
        (roles.Window, "#2b2d30"),
        (roles.WindowText, "#e6e6e6"),
        (roles.Base, "#1f2023"),
        (roles.AlternateBase, "#26282b"),
        (roles.Text, "#e6e6e6"),
        (roles.Button, "#34363a"),
        (roles.ButtonText, "#e6e6e6"),
        (roles.Highlight, "#3d6fb6"),
        (roles.HighlightedText, "#ffffff"),
        (roles.PlaceholderText, "#8a8d93"),
        (roles.Mid, "#55585e"),
        (roles.ToolTipBase, "#34363a"),
        (roles.ToolTipText, "#e6e6e6"),
    ):
        pal.setColor(role, QColor(color))
    for role in (roles.Text, roles.WindowText, roles.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#7a7d83"))
    return pal
