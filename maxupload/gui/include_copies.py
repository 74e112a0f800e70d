""" "Include anyway": send a skipped copy of a picture after all.

The core skips a copy by default (``core.duplicates``); this is the one way the window asks
for it: the Photos menu, the list's context menu, Ctrl+I, and the button of the details panel
under the list all trigger the same action on the selected copies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject, Qt, SignalInstance, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from maxupload.gui.photo_row import PhotoRow

SHORTCUT = "Ctrl+I"


class IncludeCopies(QObject):
    """The "Include anyway" action for the selected skipped copies."""

    def __init__(
        self,
        window: QWidget,
        selected: Callable[[], list[PhotoRow]],
        include: Callable[[Sequence[int]], None],
        notice: Callable[[str], None],
        settled: Callable[[], None],
        changed: SignalInstance,
    ) -> None:
        """``settled`` is called once the copies are included (the warning shown for them is
        out of date then); ``changed`` is the upload service's signal of new snapshots."""
        super().__init__(window)
        self._settled = settled
        self._waiting: set[int] = set()
        changed.connect(self._snapshots)
        self._selected = selected
        self._include = include
        self._notice = notice
        self.action = QAction("Include anyway", window)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.action.setToolTip("Send the selected copy of a picture too (it was skipped)")
        self.action.setEnabled(False)
        self.action.triggered.connect(self.include_selected)
        window.addAction(self.action)

    def copies(self, rows: list[PhotoRow] | None = None) -> list[PhotoRow]:
        """The skipped copies among ``rows`` (the selection by default)."""
        return [
            r
            for r in (self._selected() if rows is None else rows)
            if r.is_skipped_copy and r.item_id is not None
        ]

    def refresh(self, rows: list[PhotoRow]) -> None:
        """Enable the action while the selection holds a skipped copy."""
        self.action.setEnabled(bool(self.copies(rows)))

    @Slot()
    def include_selected(self) -> None:
        rows = self.copies()
        if not rows:
            self._notice("'Include anyway' is for photos skipped as copies: select one first.")
            return
        ids = [r.item_id for r in rows if r.item_id is not None]
        self._waiting.update(ids)
        self._include(ids)
        self._settled()
        n = len(rows)
        self._notice(
            f"{n} cop{'ies' if n != 1 else 'y'} included: "
            f"{'they are' if n != 1 else 'it is'} sent like the other photos."
        )

    @Slot(object)
    def _snapshots(self, snapshots: list[Any]) -> None:
        """Included copies came back: a warning shown meanwhile for them is out of date."""
        done = {int(s.id) for s in snapshots or []} & self._waiting
        if done:
            self._waiting -= done
            self._settled()
