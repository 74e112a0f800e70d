"""Small screens: the window fits 1024x700 and adapts its layout instead of growing.

Below ``COMPACT_HEIGHT`` (or ``COMPACT_WIDTH``) rows get shorter, the banner tighter and the
side panes narrower, so at least six photos stay in view. Panels that appear later (the list of
files not added, the error details) take their room from the photo list, never from the
screen: the window's minimum size is fixed once, and every pane's own minimum fits inside it.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize

#: The smallest window MaxUpload supports (fits a 1024x700 screen with its task bar).
MIN_WINDOW = QSize(980, 640)
COMPACT_HEIGHT = 780
COMPACT_WIDTH = 1180
ROW_NORMAL = 64
ROW_COMPACT = 50
#: Rows the photo list keeps room for even on a small screen.
MIN_VISIBLE_ROWS = 6


class AdaptiveLayout(QObject):
    """Watches the window's size and switches between the normal and the compact layout.

    Signals: none.
    """

    def __init__(self, window: Any) -> None:
        super().__init__(window)
        self._window = window
        self._compact: bool | None = None
        window.setMinimumSize(MIN_WINDOW)
        window.installEventFilter(self)
        self.apply(window.width(), window.height())

    @property
    def compact(self) -> bool:
        return bool(self._compact)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Resize:
            size = self._window.size()
            self.apply(size.width(), size.height())
        return False

    def apply(self, width: int, height: int) -> None:
        compact = height < COMPACT_HEIGHT or width < COMPACT_WIDTH
        if compact == self._compact:
            return
        self._compact = compact
        w = self._window
        w.table.verticalHeader().setDefaultSectionSize(ROW_COMPACT if compact else ROW_NORMAL)
        w.group_heights.apply()  # group header rows keep their band over the new row height
        header = w.table.horizontalHeader()
        header.resizeSection(1, 118 if compact else 132)  # size: "131 KB → 56 KB"
        header.resizeSection(2, 136 if compact else 160)  # status
        w.banner.confirm_hint.setVisible(not compact)
        margins = (12, 6, 12, 6) if compact else (18, 14, 18, 14)
        w.banner.layout().setContentsMargins(*margins)
        w.target.setMinimumWidth(220 if compact else 280)
        w.preview.setMinimumWidth(240 if compact else 300)
        w.rejections.set_compact(compact)
        outer = w.centralWidget().layout()
        outer.setSpacing(6 if compact else 10)
        outer.setContentsMargins(*((10, 6, 10, 6) if compact else (16, 12, 16, 12)))
