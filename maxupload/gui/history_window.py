"""The History window (Ctrl+H): every photo sent from this computer, searchable, exportable.

Reading the history file, fetching a signed link and writing an export run on the worker pool;
the window only shows what they return.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDate, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.history.export import iso_time, to_csv, to_json
from maxupload.core.history.store import HistoryEntry, HistoryStore
from maxupload.core.outcomes import describe_error
from maxupload.core.system.paths import write_private
from maxupload.gui import names
from maxupload.gui.tasks import TaskPool

#: Table columns: heading and how to show an entry.
COLUMNS: tuple[tuple[str, Callable[[HistoryEntry], str]], ...] = (
    ("When", lambda e: iso_time(e.queued_at).replace("T", " ")[:16]),
    ("Patient", lambda e: e.patient_name or e.patient_label),
    ("MRN", lambda e: e.mrn),
    ("Visit", lambda e: e.visit),
    ("File", lambda e: e.file_name),
    ("Status", lambda e: e.state.replace("_", " ")),
    ("Verification", lambda e: e.verification.split(":")[0]),
    ("Original", lambda e: e.original),
    ("Provider", lambda e: e.provider_name or e.provider_id),
    ("Note", lambda e: e.note_id),
    ("User", lambda e: e.os_user),
)

_NO_DATE = QDate(2000, 1, 1)
#: The window opens on the photos of the last 30 days; "any day" shows everything on file.
DEFAULT_DAYS = 30


def _date_edit(object_name: str, label: str) -> QDateEdit:
    edit = QDateEdit()
    edit.setObjectName(object_name)
    edit.setAccessibleName(label)
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    edit.setMinimumDate(_NO_DATE)
    edit.setSpecialValueText("any day")  # shown at the minimum date: no limit
    edit.setDate(_NO_DATE)
    return edit


def _day(edit: QDateEdit) -> date | None:
    value = edit.date()
    return None if value == _NO_DATE else date(value.year(), value.month(), value.day())


def details_text(entry: HistoryEntry) -> str:
    """Everything on file for one photo, for the details pane (nothing secret is on file)."""
    planned = "to the trash once verified" if entry.trash_original else "kept"
    lines = [
        f"Patient: {entry.patient_name or entry.patient_label}"
        + (f" (MRN {entry.mrn})" if entry.mrn else ""),
        f"Note: {entry.note_id}   Visit: {entry.visit or 'not recorded'}",
        f"Provider: {entry.provider_name or '-'} ({entry.provider_id})",
        f"Organization: {entry.org_id} at {entry.base_url}",
        f"File: {entry.source_path}",
        f"Sizes: {entry.size_original} bytes original, {entry.size_sent or '-'} bytes sent",
        f"sha256 original: {entry.sha256_original}",
        f"sha256 sent:     {entry.sha256_sent or '-'}",
        f"Image id: {entry.image_id or '-'}   Server status: {entry.server_status or '-'}",
        f"Verification: {entry.verification or '-'}",
        f"Original file: {entry.original or planned}",
        f"Trace ids: {entry.trace_ids or '-'}",
        f"Queued by {entry.os_user or 'unknown user'} at {iso_time(entry.queued_at)}",
    ]
    if entry.problem:
        lines.append(f"Problem: {entry.problem}")
    lines.append("Status changes:")
    lines += [
        f"  {iso_time(c.at)}  {c.state}" + (f"  {c.message}" if c.message else "")
        for c in entry.changes
    ]
    return "\n".join(lines)


class HistoryWindow(QDialog):
    """Search the upload history, open a stored copy, export CSV or JSON.

    Signals:
        loaded(int): a search finished with this many photos.
        link_opened(str): a fresh signed link to a stored copy was handed to the browser.
        exported(str): the shown photos were written to this file.
        failed(str): a search, link or export failed (the text is shown too).
    """

    loaded = Signal(int)
    link_opened = Signal(str)
    exported = Signal(str)
    failed = Signal(str)

    def __init__(
        self,
        history_path: Path,
        pool: TaskPool,
        make_client: Callable[[str, str], Any],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(names.HISTORY_WINDOW)
        self.setWindowTitle("Upload history")
        self.resize(1100, 640)
        self._path = history_path
        self._pool = pool
        self._make_client = make_client
        self._entries: list[HistoryEntry] = []
        self._searches = 0  # only the latest search is shown

        self.patient = self._field(names.HISTORY_PATIENT, "Patient name")
        self.mrn = self._field(names.HISTORY_MRN, "MRN")
        self.note = self._field(names.HISTORY_NOTE, "Note id")
        self.since = _date_edit(names.HISTORY_SINCE, "From day")
        self.since.setDate(QDate.currentDate().addDays(-DEFAULT_DAYS))  # a year would be slow
        self.until = _date_edit(names.HISTORY_UNTIL, "To day")
        self.search_button = QPushButton("Search")
        self.search_button.setObjectName(names.HISTORY_SEARCH)
        self.search_button.setDefault(True)
        self.search_button.clicked.connect(self.search)
        filters = QHBoxLayout()
        for label, widget in (
            ("Patient", self.patient),
            ("MRN", self.mrn),
            ("Note", self.note),
            ("From", self.since),
            ("To", self.until),
        ):
            filters.addWidget(QLabel(label))
            filters.addWidget(widget, 1 if isinstance(widget, QLineEdit) else 0)
        filters.addWidget(self.search_button)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setObjectName(names.HISTORY_TABLE)
        self.table.setAccessibleName("Uploaded photos")
        self.table.setHorizontalHeaderLabels([c for c, _ in COLUMNS])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.details = QPlainTextEdit()
        self.details.setObjectName(names.HISTORY_DETAILS)
        self.details.setAccessibleName("Details of the selected photo")
        self.details.setReadOnly(True)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setSizes([420, 200])

        self.open_button = QPushButton("Open stored copy")
        self.open_button.setObjectName(names.HISTORY_OPEN)
        self.open_button.setToolTip("Opens the copy stored in Max AI through a fresh signed link")
        self.open_button.clicked.connect(self.open_stored)
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.setObjectName(names.HISTORY_EXPORT_CSV)
        self.csv_button.clicked.connect(lambda: self.choose_export("csv"))
        self.json_button = QPushButton("Export JSON…")
        self.json_button.setObjectName(names.HISTORY_EXPORT_JSON)
        self.json_button.clicked.connect(lambda: self.choose_export("json"))
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.message = QLabel()
        self.message.setObjectName(names.HISTORY_MESSAGE)
        self.message.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.message, 1)
        buttons.addWidget(self.csv_button)
        buttons.addWidget(self.json_button)
        buttons.addWidget(close)

        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)
        QShortcut(QKeySequence.StandardKey.Find, self, activated=self.patient.setFocus)
        self._selection_changed()

    def _field(self, object_name: str, label: str) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(object_name)
        edit.setAccessibleName(label)
        edit.setClearButtonEnabled(True)
        return edit  # Enter presses Search, the dialog's default button

    # --- search ---------------------------------------------------------------------------
    @Slot()
    def search(self) -> None:
        path = self._path
        criteria = {
            "patient": self.patient.text().strip() or None,
            "mrn": self.mrn.text().strip() or None,
            "note": self.note.text().strip() or None,
            "since": _day(self.since),
            "until": _day(self.until),
        }

        def job() -> list[HistoryEntry]:
            if not path.exists():
                return []
            with HistoryStore(path) as history:
                return history.search(**criteria)

        self._searches += 1
        serial = self._searches

        def done(entries: list[HistoryEntry]) -> None:
            if serial == self._searches:
                self._show(entries)

        self.message.setText("Searching…")
        self._pool.submit(job, done, self._failed)

    def _show(self, entries: list[HistoryEntry]) -> None:
        self._entries = entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            for col, (_, text) in enumerate(COLUMNS):
                self.table.setItem(row, col, QTableWidgetItem(text(entry)))
        self.table.resizeColumnsToContents()
        self.message.setText(f"{len(entries)} photo{'s' if len(entries) != 1 else ''}.")
        self._selection_changed()
        self.loaded.emit(len(entries))

    def _failed(self, exc: BaseException) -> None:
        outcome = describe_error(exc)
        message = f"{outcome.message} {outcome.next_step}".strip()
        self.message.setText(message)
        self.failed.emit(message)

    def selected(self) -> HistoryEntry | None:
        rows = self.table.selectionModel().selectedRows()
        return self._entries[rows[0].row()] if rows else None

    @Slot()
    def _selection_changed(self) -> None:
        entry = self.selected()
        self.details.setPlainText(details_text(entry) if entry else "")
        self.open_button.setEnabled(bool(entry and entry.image_id))

    # --- stored copy ------------------------------------------------------------------------
    @Slot()
    def open_stored(self) -> None:
        entry = self.selected()
        if entry is None or not entry.image_id:
            return
        make_client = self._make_client

        def job() -> Any:
            with make_client(entry.base_url, entry.org_id) as client:
                return client.get_image_url(entry.note_id, entry.image_id)

        def done(signed: Any) -> None:
            QDesktopServices.openUrl(QUrl(signed.url))
            until = signed.expires_at.astimezone().strftime("%H:%M")
            self.message.setText(f"Opened through a fresh signed link (valid until {until}).")
            self.link_opened.emit(signed.url)

        self.message.setText("Asking Max AI for a signed link…")
        self._pool.submit(job, done, self._failed)

    # --- export -----------------------------------------------------------------------------
    def choose_export(self, kind: str) -> None:
        """Ask where to write the shown photos (a non-blocking save dialog)."""
        name = f"maxupload-history-{date.today().isoformat()}.{kind}"
        dialog = QFileDialog(self, f"Export the history as {kind.upper()}", str(Path.home() / name))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
        dialog.setNameFilter(f"{kind.upper()} (*.{kind})")
        dialog.setDefaultSuffix(kind)
        dialog.fileSelected.connect(lambda chosen: self.export_to(Path(chosen), kind))
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def export_to(self, path: Path, kind: str) -> None:
        entries = list(self._entries)
        text = to_csv(entries) if kind == "csv" else to_json(entries)

        def job() -> Path:
            write_private(path, text)
            return path

        def done(written: Path) -> None:
            self.message.setText(f"Exported {len(entries)} photos to {written}.")
            self.exported.emit(str(written))

        self._pool.submit(job, done, self._failed)
