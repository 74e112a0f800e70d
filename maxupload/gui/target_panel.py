"""Choosing where photos go: find the patient, pick their visit note (or paste a note id),
pick the provider. All API calls run on the worker pool.

The target is only ever what the user picked: picks come from the user's selection (a click or
the arrow keys), never from the current item a list moves to by itself, and lists are rebuilt
with their signals blocked so that clearing one never picks the next row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QCompleter,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.api.models import Note, Patient, Provider
from maxupload.core.checks.visit_time import visit_text
from maxupload.core.outcomes import describe_error
from maxupload.gui import names
from maxupload.gui.banner import note_status_text
from maxupload.gui.headings import heading
from maxupload.gui.tasks import TaskPool

#: Returns the API client of the current settings (raises with a clear message if none).
ClientGetter = Callable[[], Any]

DATA_ROLE = Qt.ItemDataRole.UserRole + 10


def patient_line(p: Patient) -> str:
    return f"{p.display_name}\nDOB {p.date_of_birth or '?'}  ·  MRN {p.mrn or 'none'}"


def note_line(n: Note) -> str:
    facility = n.facility.name if n.facility and n.facility.name else "no facility"
    return f"Visit {visit_text(n)}  ·  {note_status_text(n)}\n{facility}"


def rebuild_list(widget: QListWidget, rows: list[tuple[str, str, Any]]) -> None:
    """Replace the rows of a list with its signals blocked and nothing current or selected:
    rebuilding a list never picks a row by side effect."""
    widget.blockSignals(True)
    try:
        widget.clear()
        for text, tooltip, data in rows:
            item = QListWidgetItem(text)
            item.setData(DATA_ROLE, data)
            if tooltip:
                item.setToolTip(tooltip)
            widget.addItem(item)
        widget.clearSelection()
        widget.setCurrentRow(-1)
    finally:
        widget.blockSignals(False)


def selected_data(widget: QListWidget) -> Any:
    """The data of the row the user selected, or None."""
    items = widget.selectedItems()
    return items[0].data(DATA_ROLE) if items else None


class TargetPanel(QWidget):
    """Patient search, their notes, a note id field and the provider picker.

    Signals:
        patient_chosen(object): the ``Patient`` the user picked (or None); the note is cleared.
        note_chosen(object): a ``Note`` the user picked (or None when cleared).
        provider_chosen(object): the ``Provider`` to upload as (or None).
        error(object): an exception from a lookup, for the status panel.
    """

    patient_chosen = Signal(object)
    note_chosen = Signal(object)
    provider_chosen = Signal(object)
    error = Signal(object)

    def __init__(self, pool: TaskPool, client: ClientGetter, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(names.TARGET_PANEL)
        self._pool = pool
        self._client = client
        self._note: Note | None = None
        self._all_providers: list[Provider] = []
        self._search_job = 0
        self._notes_job = 0

        self.search = QLineEdit()
        self.search.setObjectName(names.PATIENT_SEARCH)
        self.search.setPlaceholderText("Name, MRN or date of birth")
        self.search.setAccessibleName("Find patient by name, MRN or date of birth")
        self.search.setClearButtonEnabled(True)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.run_search)
        self.search.textEdited.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self.run_search)

        self.patients = QListWidget()
        self.patients.setObjectName(names.PATIENT_RESULTS)
        self.patients.setAccessibleName("Patients found")
        self.patients.itemSelectionChanged.connect(self._patient_picked)
        self.patients.setSpacing(2)
        self.patients.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.patients.setTextElideMode(Qt.TextElideMode.ElideRight)

        self.notes = QListWidget()
        self.notes.setObjectName(names.NOTE_LIST)
        self.notes.setAccessibleName("Visit notes of the patient")
        self.notes.itemSelectionChanged.connect(self._note_picked)
        self.notes.setSpacing(2)
        self.notes.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.notes.setTextElideMode(Qt.TextElideMode.ElideRight)

        self.note_id = QLineEdit()
        self.note_id.setObjectName(names.NOTE_ID_INPUT)
        self.note_id.setPlaceholderText("or paste a note id (nte_…)")
        self.note_id.setAccessibleName("Note id")
        self.note_id.returnPressed.connect(self.open_note_id)
        self.open_button = QPushButton("Open")
        self.open_button.setObjectName(names.NOTE_ID_OPEN)
        self.open_button.setAccessibleName("Open note by id")
        self.open_button.clicked.connect(self.open_note_id)

        self.provider = QComboBox()
        self.provider.setObjectName(names.PROVIDER_COMBO)
        self.provider.setAccessibleName("Upload as provider")
        self.provider.setEditable(True)
        self.provider.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self._provider_model = QStandardItemModel(self)
        self.provider.setModel(self._provider_model)
        completer = QCompleter(self._provider_model, self)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.provider.setCompleter(completer)
        self.provider.currentIndexChanged.connect(self._provider_picked)
        self._provider_edit().setPlaceholderText("Choose a note first")
        self._provider_edit().setAccessibleName("Type to search providers")

        self.message = QLabel()
        self.message.setObjectName(names.TARGET_MESSAGE)
        self.message.setWordWrap(True)
        self.message.hide()

        row = QHBoxLayout()
        row.setSpacing(6)
        row.addWidget(self.note_id, 1)
        row.addWidget(self.open_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(heading("1. Find the patient"))
        layout.addWidget(self.search)
        layout.addWidget(self.patients, 2)
        layout.addSpacing(6)
        layout.addWidget(heading("2. Pick the visit note"))
        layout.addWidget(self.notes, 2)
        layout.addLayout(row)
        layout.addSpacing(6)
        layout.addWidget(heading("3. Upload as provider"))
        layout.addWidget(self.provider)
        layout.addWidget(self.message)

    # --- state --------------------------------------------------------------------------
    @property
    def current_note(self) -> Note | None:
        return self._note

    def current_provider(self) -> Provider | None:
        idx = self.provider.currentIndex()
        if idx < 0:
            return None
        item = self._provider_model.item(idx)
        provider: Provider | None = item.data(DATA_ROLE) if item is not None else None
        return provider

    def _provider_edit(self) -> QLineEdit:
        edit = self.provider.lineEdit()
        assert edit is not None  # the combo is editable
        return edit

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # --- patient search -----------------------------------------------------------------
    @Slot()
    def run_search(self) -> None:
        text = self.search.text().strip()
        self._debounce.stop()
        self._pool.forget(self._search_job)
        if not text:
            rebuild_list(self.patients, [])
            return
        client = self._client

        def job() -> list[Patient]:
            return list(client().list_patients(search=text, page_size=50).items)

        self.show_message("Searching…")
        self._search_job = self._pool.submit(job, self._patients_found, self._lookup_failed)

    def _patients_found(self, patients: list[Patient]) -> None:
        rebuild_list(self.patients, [(patient_line(p), "", p) for p in patients])
        self.show_message("" if patients else "No patient matches. Check the spelling or MRN.")

    @Slot()
    def _patient_picked(self) -> None:
        """The user selected a patient: the note, provider and confirmation are cleared and
        the patient's notes load; no note is picked until the user picks one."""
        picked = selected_data(self.patients)
        if picked is None:
            return
        patient: Patient = picked
        client = self._client
        self._pool.forget(self._notes_job)

        def job() -> list[Note]:
            notes = list(client().iter_notes(patient_id=patient.id))
            notes.sort(key=lambda n: n.visit_date or "", reverse=True)
            return notes

        rebuild_list(self.notes, [])
        self._note = None
        self._fill_providers()
        self.patient_chosen.emit(patient)
        self.note_chosen.emit(None)
        self.show_message("Loading notes…")
        self._notes_job = self._pool.submit(job, self._notes_found, self._lookup_failed)

    def _notes_found(self, notes: list[Note]) -> None:
        rebuild_list(self.notes, [(note_line(n), f"Note id {n.id}", n) for n in notes])
        self.show_message("" if notes else "This patient has no visit notes.")

    @Slot()
    def _note_picked(self) -> None:
        note = selected_data(self.notes)
        if note is not None:
            self.set_note(note)

    # --- note id ------------------------------------------------------------------------
    @Slot()
    def open_note_id(self) -> None:
        note_id = self.note_id.text().strip()
        if not note_id:
            return
        self.open_note(note_id)

    def open_note(self, note_id: str, on_loaded: Callable[[Note], None] | None = None) -> None:
        """Fetch a note by id and make it the current one."""
        client = self._client

        def loaded(note: Note) -> None:
            # The note's own patient is shown; the lists offer nothing that could be picked
            # by mistake next to it.
            self.patients.blockSignals(True)
            self.patients.clearSelection()
            self.patients.setCurrentRow(-1)
            self.patients.blockSignals(False)
            rebuild_list(self.notes, [])
            self.set_note(note)
            if on_loaded is not None:
                on_loaded(note)

        self.show_message("Opening note…")
        self._pool.submit(lambda: client().get_note(note_id), loaded, self._lookup_failed)

    def clear(self) -> None:
        """Forget results, the provider list and the note (another clinic was chosen)."""
        rebuild_list(self.patients, [])
        rebuild_list(self.notes, [])
        self._all_providers = []
        self.set_note(None)
        self.patient_chosen.emit(None)

    def set_note(self, note: Note | None) -> None:
        """Make ``note`` current; fill the providers, assigned ones first."""
        self._note = note
        self.show_message("")
        self._fill_providers()
        self.note_chosen.emit(note)
        if note is not None and not self._all_providers:
            self._load_providers()

    # --- providers ----------------------------------------------------------------------
    def _load_providers(self) -> None:
        client = self._client

        def job() -> list[Provider]:
            return list(client().iter_providers(hidden=False))

        def done(providers: list[Provider]) -> None:
            self._all_providers = providers
            self._fill_providers()

        self._pool.submit(job, done, self._lookup_failed)

    def _fill_providers(self) -> None:
        keep = self.current_provider()
        note = self._note
        assigned = list(note.assigned_providers) if note else []
        seen = {p.id for p in assigned}
        others = sorted(
            (p for p in self._all_providers if p.id not in seen), key=lambda p: p.display_name
        )
        self.provider.blockSignals(True)
        self._provider_model.clear()
        for p in assigned:
            item = QStandardItem(f"{p.display_name}  (assigned to this note)")
            item.setData(p, DATA_ROLE)
            self._provider_model.appendRow(item)
        for p in others:
            item = QStandardItem(p.display_name)
            item.setData(p, DATA_ROLE)
            self._provider_model.appendRow(item)
        choose = 0 if assigned else -1
        if keep is not None and note is not None and not assigned:
            for i in range(self._provider_model.rowCount()):
                if self._provider_model.item(i).data(DATA_ROLE).id == keep.id:
                    choose = i
        self.provider.setCurrentIndex(choose)
        if choose < 0:
            self._provider_edit().setPlaceholderText(
                "Type to search providers" if note else "Choose a note first"
            )
        self.provider.blockSignals(False)
        self.provider_chosen.emit(self.current_provider())

    @Slot(int)
    def _provider_picked(self, _index: int) -> None:
        self.provider_chosen.emit(self.current_provider())

    def _lookup_failed(self, exc: BaseException) -> None:
        self.show_message(describe_error(exc).summary)
        self.error.emit(exc)
