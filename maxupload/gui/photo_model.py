"""The photo list: one row per photo, staged (not queued yet) or in the upload queue.

A ``QAbstractTableModel`` so the view stays virtual: only visible rows are painted, and only
painted rows ask for a thumbnail. Rows are kept grouped by the note they are queued for (photos
not queued yet form their own group); the first row of each group carries the group's header,
and rows queued for another note than the banner's are marked as such.
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QGuiApplication, QPalette, QPixmap

from maxupload.core.outcome_labels import CountGroup, count_group
from maxupload.core.queue.model import ItemState
from maxupload.gui.photo_row import PhotoRow, human_size, row_from_item
from maxupload.gui.tone_colors import text_color

__all__ = ["PhotoModel", "PhotoRow", "human_size", "row_from_item"]

Index = QModelIndex | QPersistentModelIndex


class Column(enum.IntEnum):
    PHOTO = 0
    SIZE = 1
    STATUS = 2  # painted with the progress bar under the words


HEADERS = {
    Column.PHOTO: "Photo",
    Column.SIZE: "Size: file → sent",
    Column.STATUS: "Status",
}

#: Thumbnails kept in memory (least recently shown go first; about 30 MB at most).
THUMBNAIL_CACHE = 500

ROW_ROLE = Qt.ItemDataRole.UserRole + 1
TONE_ROLE = Qt.ItemDataRole.UserRole + 2
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3
HEADER_ROLE = Qt.ItemDataRole.UserRole + 4  # the group header above this row ("" if none)
OTHER_ROLE = Qt.ItemDataRole.UserRole + 5  # queued for another note than the banner's

_DISPLAY = Qt.ItemDataRole.DisplayRole.value
_TOOLTIP = Qt.ItemDataRole.ToolTipRole.value
_ACCESSIBLE = Qt.ItemDataRole.AccessibleTextRole.value
_DECORATION = Qt.ItemDataRole.DecorationRole.value
_FOREGROUND = Qt.ItemDataRole.ForegroundRole.value
#: The roles ``data`` answers. A painted row asks for a dozen roles per cell (font, alignment,
#: check state...); the others return at once, without building anything.
_ANSWERED = frozenset(
    {ROW_ROLE, TONE_ROLE, PROGRESS_ROLE, HEADER_ROLE, OTHER_ROLE}
    | {_DISPLAY, _TOOLTIP, _ACCESSIBLE, _DECORATION, _FOREGROUND}
)


class PhotoModel(QAbstractTableModel):
    """Rows of ``PhotoRow``; thumbnails come from a provider that loads them lazily.

    Signals:
        thumbnail_wanted(object): a ``Path`` whose thumbnail a visible row needs.
        estimate_wanted(object): a ``Path`` whose estimated sent size a visible row needs.
        counts_changed(): rows were added, removed or changed state.
        groups_changed(): the grouping or the group headers may have changed.
    """

    thumbnail_wanted = Signal(object)
    estimate_wanted = Signal(object)
    counts_changed = Signal()
    groups_changed = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._rows: list[PhotoRow] = []
        self._current_note: str | None = None
        self._confirmed_for = ""  # the patient the new photos are confirmed for, if any
        self._by_item: dict[int, int] = {}
        self._thumbs: OrderedDict[Path, QPixmap] = OrderedDict()
        self._asked: set[Path] = set()
        self._estimates_asked: set[Path] = set()
        # Requests made while a view paints are sent after the paint, in a later event-loop
        # pass, so painting a screen of new rows never waits on starting their jobs.
        self._wanted: list[tuple[SignalInstance, Path]] = []
        self._send_wanted = QTimer(self)
        self._send_wanted.setSingleShot(True)
        self._send_wanted.setInterval(0)
        self._send_wanted.timeout.connect(self._emit_wanted)
        # Inside ``changing_many``: what ``replace_row`` left for its end.
        self._many = 0
        self._pending: set[str] = set()

    # --- Qt model API -------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS.get(Column(section), "")
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in _ANSWERED or not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == ROW_ROLE:
            return row
        if role == TONE_ROLE:
            return row.status.tone
        if role == PROGRESS_ROLE:
            return row.fraction
        if role == HEADER_ROLE:
            return self.header_text(index.row())
        if role == OTHER_ROLE:
            return self.is_other(row)
        if role == _DISPLAY:
            return self.size_text(row) if col == Column.SIZE else self.display_text(row, col)
        if role == _TOOLTIP:
            return self._tooltip(row, col)
        if role == _ACCESSIBLE:
            who = f" (for {row.patient})" if row.patient else ""
            other = (
                "; another note than the banner's, not sent under it" if self.is_other(row) else ""
            )
            said = f". {row.error}" if row.error and row.error not in row.status.label else ""
            return f"{row.name}{who}: {row.status.label}{other}{said}"
        if role == _DECORATION and col == Column.PHOTO:
            return self.thumbnail_for(row.path)
        if role == _FOREGROUND and col == Column.STATUS:
            return text_color(row.status.tone, QGuiApplication.palette(), QPalette.ColorRole.Base)
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    # --- display helpers ----------------------------------------------------------------
    @staticmethod
    def display_text(row: PhotoRow, col: int) -> str:
        """The text ``row`` shows in column ``col`` (its display role)."""
        if col == Column.PHOTO:
            return row.name
        if col == Column.SIZE:
            after = human_size(row.size_after)
            prefix = "≈ " if row.size_after_is_estimate and row.size_after is not None else ""
            return f"{human_size(row.size_before)} → {prefix}{after}"
        if col == Column.STATUS:
            if row.state == ItemState.UPLOADING and row.total:
                return f"{row.status.label} {round(100 * row.fraction)}%"
            return row.status.label
        return ""

    def size_text(self, row: PhotoRow) -> str:
        """The size column's text; a staged row without its size after preparation yet has it
        estimated (once, on the pool) now that it is shown."""
        if row.is_staged and row.size_after is None:
            self._want_estimate(row.path)
        return self.display_text(row, Column.SIZE)

    @staticmethod
    def _tooltip(row: PhotoRow, col: int) -> str:
        # The trace id is for support: "Copy details" carries it, the tooltip does not.
        lines = [str(row.path), row.error, row.status.hint, *(f.message for f in row.findings)]
        if row.target_label:
            lines.append(f"Queued for {row.target_label}")
        return "\n".join(x for x in lines if x)

    # --- groups -------------------------------------------------------------------------
    def set_current_note(self, note_id: str | None) -> None:
        """The note in the banner: rows queued for any other note are marked as other."""
        if note_id != self._current_note:
            self._current_note = note_id
            if self._rows:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, 0))
            self.groups_changed.emit()

    def set_confirmed_for(self, patient: str) -> None:
        """The patient the new photos are confirmed for ("" when not confirmed)."""
        if patient != self._confirmed_for:
            self._confirmed_for = patient
            first = next((i for i, r in enumerate(self._rows) if r.is_staged), None)
            if first is not None:
                self.dataChanged.emit(self.index(first, 0), self.index(first, len(Column) - 1))

    def is_other(self, row: PhotoRow) -> bool:
        """Queued for another note than the banner's: never sent under the banner."""
        return not row.is_staged and row.note_id != self._current_note

    def header_text(self, i: int) -> str:
        """The header of the group that starts at row ``i`` ("" when no group starts there)."""
        row = self._rows[i]
        if i > 0 and self._rows[i - 1].group == row.group:
            return ""
        if row.is_staged:
            if self._confirmed_for:
                return f"New photos, confirmed for {self._confirmed_for}: sent when you upload"
            return "New photos, not queued yet: they go to the patient you confirm"
        label = row.target_label or f"note {row.note_id}"
        if self.is_other(row):
            return f"Not sent under this banner  ·  queued for {label}"
        return f"Queued for {label}"

    def _regroup(self) -> None:
        """Keep the rows of one group together (groups in order of first appearance); the
        selection and other persistent indexes follow their rows."""
        order: dict[str, int] = {}
        for r in self._rows:
            order.setdefault(r.group, len(order))
        new = sorted(self._rows, key=lambda r: order[r.group])
        if all(a is b for a, b in zip(new, self._rows, strict=True)):
            self.groups_changed.emit()
            return
        self.layoutAboutToBeChanged.emit()
        where = {id(r): i for i, r in enumerate(new)}
        old_rows = self._rows
        persistent = self.persistentIndexList()
        self._rows = new
        self._reindex()
        self.changePersistentIndexList(
            persistent,
            [self.index(where[id(old_rows[p.row()])], p.column()) for p in persistent],
        )
        self.layoutChanged.emit()
        self.groups_changed.emit()

    # --- thumbnails ---------------------------------------------------------------------
    def thumbnail_for(self, path: Path) -> QPixmap | None:
        pix = self._thumbs.get(path)
        if pix is not None:
            self._thumbs.move_to_end(path)
        if pix is None and path not in self._asked:
            self._asked.add(path)
            self._ask(self.thumbnail_wanted, path)
        return pix

    def _want_estimate(self, path: Path) -> None:
        if path not in self._estimates_asked:
            self._estimates_asked.add(path)
            self._ask(self.estimate_wanted, path)

    def _ask(self, signal: SignalInstance, path: Path) -> None:
        self._wanted.append((signal, path))
        if not self._send_wanted.isActive():
            self._send_wanted.start()

    def _emit_wanted(self) -> None:
        wanted, self._wanted = self._wanted, []
        for signal, path in wanted:
            signal.emit(path)

    def reset_estimates(self) -> None:
        """Forget the estimates of staged rows (the preset changed); visible rows ask again."""
        self._estimates_asked.clear()
        for i, row in enumerate(self._rows):
            if row.is_staged and row.size_after is not None:
                row.size_after = None
                idx = self.index(i, Column.SIZE)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DisplayRole])

    def set_thumbnail(self, path: Path, pixmap: QPixmap | None) -> None:
        """Store a loaded thumbnail (None: it could not be made) and repaint its rows."""
        if pixmap is not None:
            self._thumbs[path] = pixmap
            while len(self._thumbs) > THUMBNAIL_CACHE:
                old, _ = self._thumbs.popitem(last=False)
                self._asked.discard(old)  # made again if its row is shown again
        for i, row in enumerate(self._rows):
            if row.path == path:
                idx = self.index(i, Column.PHOTO)
                self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DecorationRole])

    def has_thumbnail(self, path: Path) -> bool:
        return path in self._thumbs

    def thumbnails_shown(self) -> int:
        """Rows whose thumbnail is loaded (for the responsiveness benchmark)."""
        return sum(1 for r in self._rows if r.path in self._thumbs)

    # --- rows ---------------------------------------------------------------------------
    def rows(self) -> list[PhotoRow]:
        return list(self._rows)

    def row_at(self, i: int) -> PhotoRow:
        return self._rows[i]

    def staged_rows(self) -> list[PhotoRow]:
        return [r for r in self._rows if r.is_staged]

    def find_item(self, item_id: int) -> int | None:
        return self._by_item.get(item_id)

    def has_path(self, path: Path) -> bool:
        return any(r.path == path and r.is_staged for r in self._rows)

    def add_rows(self, rows: list[PhotoRow]) -> None:
        if not rows:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
        self._rows.extend(rows)
        self._reindex()
        self.endInsertRows()
        self._regroup()
        self.counts_changed.emit()

    def remove_row_indexes(self, indexes: list[int]) -> list[PhotoRow]:
        removed: list[PhotoRow] = []
        for i in sorted(set(indexes), reverse=True):
            if 0 <= i < len(self._rows):
                self.beginRemoveRows(QModelIndex(), i, i)
                removed.append(self._rows.pop(i))
                self.endRemoveRows()
        self._reindex()
        if removed:
            self.groups_changed.emit()
            self.counts_changed.emit()
        return removed

    @contextmanager
    def changing_many(self) -> Iterator[None]:
        """Rows replaced inside are shown as one change at the end: one repaint, one regroup,
        one recount. A drop's 100 rows, each told to the view on its own, took the GUI thread
        about 10 ms in one go. Indexes stay where they are until the end."""
        self._many += 1
        try:
            yield
        finally:
            self._many -= 1
            if self._many == 0:
                pending, self._pending = self._pending, set()
                if "changed" in pending and self._rows:
                    last = self.index(len(self._rows) - 1, len(Column) - 1)
                    self.dataChanged.emit(self.index(0, 0), last)
                if "regroup" in pending:
                    self._regroup()
                if "counts" in pending:
                    self.counts_changed.emit()

    def replace_row(self, i: int, row: PhotoRow) -> None:
        old = self._rows[i]
        self._rows[i] = row
        if old.item_id != row.item_id:
            self._reindex()
        if self._many:
            self._pending.add("changed")
            if old.group != row.group:
                self._pending.add("regroup")
            if old.state != row.state:
                self._pending.add("counts")
            return
        self.dataChanged.emit(self.index(i, 0), self.index(i, len(Column) - 1))
        if old.group != row.group:
            self._regroup()
        if old.state != row.state:
            self.counts_changed.emit()

    def update_row(self, i: int, **changes: Any) -> None:
        self.replace_row(i, replace(self._rows[i], **changes))

    def set_progress(self, progress: dict[int, tuple[int, int]]) -> None:
        for item_id, (sent, total) in progress.items():
            i = self._by_item.get(item_id)
            if i is None:
                continue
            row = self._rows[i]
            row.sent, row.total = sent, total
            self.dataChanged.emit(
                self.index(i, Column.STATUS),
                self.index(i, Column.STATUS),
                [Qt.ItemDataRole.DisplayRole, PROGRESS_ROLE],
            )

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._by_item.clear()
        self.endResetModel()
        self.groups_changed.emit()
        self.counts_changed.emit()

    def _reindex(self) -> None:
        self._by_item = {r.item_id: i for i, r in enumerate(self._rows) if r.item_id is not None}

    def counts(self) -> dict[str, int]:
        """Rows per state."""
        out: dict[str, int] = {}
        for r in self._rows:
            out[r.state] = out.get(r.state, 0) + 1
        return out

    def group_counts(self) -> dict[CountGroup, int]:
        """Rows per group of the counts line, from each row's outcome (see ``outcome_labels``)."""
        out: dict[CountGroup, int] = {}
        for r in self._rows:
            group = count_group(r.status_outcome)
            out[group] = out.get(group, 0) + 1
        return {g: out[g] for g in CountGroup if g in out}
