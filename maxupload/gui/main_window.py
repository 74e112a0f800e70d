"""The main window: patient banner on top, target on the left, photos in the middle, preview on
the right, progress and the Upload button below.

It holds no I/O: intake scans, previews, API calls, queue changes and key store access run on
the worker pools, and engine events arrive through the ``EngineBridge`` as queued signals.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QGuiApplication, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.checks import CheckCode
from maxupload.core.confirmation import DEFAULT_IDLE_SECONDS, Expiry
from maxupload.core.models import Note, Provider
from maxupload.core.outcome_labels import batch_summary
from maxupload.core.outcomes import Action, OutcomeKind, describe_error
from maxupload.core.prepared_copies import PreparedCopies
from maxupload.core.queue_store import WAITING_STATES, ItemState
from maxupload.core.stored_copies import StoredCopies
from maxupload.core.uploads import PhotoSnapshot
from maxupload.gui import jobs, names
from maxupload.gui.adaptive import AdaptiveLayout
from maxupload.gui.announce import Announcer
from maxupload.gui.banner import PatientBanner
from maxupload.gui.check_ack import HeldPhotosAck
from maxupload.gui.confirmation_guard import ConfirmationGuard
from maxupload.gui.connection_label import ConnectionLabel
from maxupload.gui.drop_zone import DropZone, image_from_mime, paths_from_mime
from maxupload.gui.engine_bridge import EngineBridge
from maxupload.gui.include_copies import IncludeCopies
from maxupload.gui.keyboard import apply_window_focus_order
from maxupload.gui.notify import Notifier
from maxupload.gui.originals_option import OriginalsOption
from maxupload.gui.photo_delegate import ROW_HEIGHT, PhotoDelegate
from maxupload.gui.photo_groups import GroupHeights
from maxupload.gui.photo_model import Column, PhotoModel, PhotoRow, row_from_item
from maxupload.gui.preview_pane import PreviewPane
from maxupload.gui.rejections import RejectionsPanel
from maxupload.gui.status_panel import StatusPanel
from maxupload.gui.status_text import ACCENTS, Tone
from maxupload.gui.target_panel import TargetPanel
from maxupload.gui.tasks import TaskPool
from maxupload.gui.thumbnails import JobsByPath, ThumbnailLoader
from maxupload.gui.upload_controller import SubmitRequest, UploadController

log = logging.getLogger(__name__)

IMAGE_FILTER = (
    "Photos (*.jpg *.jpeg *.png *.heic *.heif *.tif *.tiff *.webp *.bmp *.gif);;All files (*)"
)


class RateLimitClock(Protocol):
    """The one thing the window asks the engine itself: how long the server's pause lasts."""

    def rate_limit_pause_remaining(self) -> float: ...


@dataclass
class WindowDeps:
    """What the composition root hands the window (nothing is looked up globally)."""

    io_pool: TaskPool  # API calls, queue changes, key store
    image_pool: TaskPool  # intake scans, thumbnails, previews, estimates
    bridge: EngineBridge
    engine: RateLimitClock  # the upload engine, for the rate-limit countdown
    uploads: UploadController  # every upload step goes through the core's service
    client: Callable[[], Any]  # the API client of the current settings
    connection: Callable[[], tuple[str, str]]  # (base_url, org_id) of the current settings
    notifier: Notifier
    cache_dir: Path
    open_settings: Callable[[], None] = lambda: None
    open_history: Callable[[], None] = lambda: None
    net_pool: TaskPool | None = None  # stored-copy downloads and signed links (network waits)
    thumb_pool: TaskPool | None = None  # thumbnails, never behind a decode (else image_pool)
    copies: PreparedCopies | None = None  # the engine's prepared copies: the preview's is sent
    stored: StoredCopies | None = None  # stored copies verification downloaded, for the preview
    default_preset: str = "standard"
    demo_text: str = ""
    demo_hint: str = ""
    connection_text: Callable[[], str] = lambda: ""
    confirm_idle_seconds: Callable[[], int] = lambda: DEFAULT_IDLE_SECONDS
    thumbnail_maker: Callable[[Path], QImage] = jobs.make_thumbnail
    on_closed: list[Callable[[], None]] = field(default_factory=list)


def _accent_frame(tone: Tone, text: str, object_name: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName(object_name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    color = ACCENTS[tone]
    label.setStyleSheet(
        f"#{object_name} {{ border: 1px solid {color}; border-left: 6px solid {color}; "
        "border-radius: 6px; padding: 8px 12px; font-weight: 600; }"
    )
    return label


#: Photos the user may send again with "Retry" (nothing of them is stored).
_RETRYABLE = frozenset({ItemState.FAILED, ItemState.CANCELLED, ItemState.RETRY_LATER})
#: Photos that wait for the user (their error is shown in the status panel).
_NEEDS_USER = frozenset({ItemState.FAILED, ItemState.NEEDS_DECISION})


def _photos(count: int, verb_one: str, verb_many: str) -> str:
    """``1 photo is`` / ``3 photos are``: counts in notices read as plain English."""
    return f"1 photo {verb_one}" if count == 1 else f"{count} photos {verb_many}"


class MainWindow(QMainWindow):
    """The MaxUpload window.

    Signals:
        intake_done(int, int): photos accepted and files rejected by the last scan.
        uploads_queued(list): queue item ids just handed to the engine.
        restored(int): photos restored from the queue at start.
        question_shown(object): a non-modal ``QMessageBox`` waiting for the user.
    """

    intake_done = Signal(int, int)
    uploads_queued = Signal(list)
    restored = Signal(int)
    question_shown = Signal(object)

    def __init__(self, deps: WindowDeps, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(names.MAIN_WINDOW)
        self.setWindowTitle("MaxUpload")
        self.deps = deps
        self._provider: Provider | None = None
        self._force_close = False
        self._closed = False
        self._question: QMessageBox | None = None
        self._latest_error_item: int | None = None
        self._started: set[int] = set()
        self._removed: set[int] = set()  # taken off the list: a late snapshot never re-adds it
        self._upload_pending = False
        self._pasted_dir = deps.cache_dir / "pasted"
        self.model = PhotoModel(self)

        self._build()
        self.confirmation = ConfirmationGuard(
            self.banner, self.model, self.listed_rows, deps.confirm_idle_seconds, self
        )
        self.confirmation.changed.connect(self._refresh_state)
        self.confirmation.expired.connect(lambda text: self.show_notice(text, Tone.WARNING))
        deps.bridge.batch_finished.connect(self.confirmation.batch_finished)
        self._build_actions()
        apply_window_focus_order(self)
        self.thumbnails = ThumbnailLoader(
            self.model,
            deps.thumb_pool or deps.image_pool,
            deps.thumbnail_maker,
            self.devicePixelRatioF(),
            self,
        )
        self._estimates = JobsByPath(self.model, deps.image_pool, self)
        deps.bridge.item_changed.connect(self._item_changed)
        deps.bridge.progress.connect(self._progress)
        deps.bridge.batch_finished.connect(self._batch_finished)
        deps.bridge.storage_failed.connect(self._show_exception)  # disk full: paused, one message
        self.uploads = deps.uploads
        self.uploads.part_staged.connect(self._list_rows)
        self.uploads.staged.connect(self._staged)
        self.uploads.facts_read.connect(self._facts_read)
        self.uploads.checked.connect(self._checked)
        self.uploads.submitted.connect(self._submitted)
        self.uploads.submit_failed.connect(self._submit_failed)
        self.uploads.changed.connect(self._apply_items)
        self.uploads.failed.connect(self._show_exception)
        deps.notifier.shown.connect(self._notice_from_notifier)
        self.announcer = Announcer(self)
        deps.notifier.shown.connect(lambda title, text: self.announcer.say(f"{title}: {text}"))
        self.status_panel.error_shown.connect(lambda text: self.announcer.say(text, True))
        self.model.counts_changed.connect(self._refresh_state)
        self.model.estimate_wanted.connect(self._estimate_wanted)
        self.model.rowsInserted.connect(lambda *_: self.drop_zone.show_content(True))
        self.model.modelReset.connect(
            lambda: self.drop_zone.show_content(self.model.rowCount() > 0)
        )
        self.model.rowsRemoved.connect(
            lambda *_: self.drop_zone.show_content(self.model.rowCount() > 0)
        )
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(250)
        self._rate_timer.timeout.connect(self._tick_rate_limit)
        self._rate_timer.start()
        self.preview.set_preset_spec(deps.default_preset)
        self._refresh_state()
        self.resize(1280, 800)
        self.adaptive = AdaptiveLayout(self)

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        deps = self.deps
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(16, 12, 16, 12)
        outer.setSpacing(10)

        top = QHBoxLayout()
        top.setSpacing(10)
        self.demo_banner: QLabel | None = None
        if deps.demo_text:
            self.demo_banner = _accent_frame(Tone.WARNING, deps.demo_text, names.DEMO_BANNER)
            self.demo_banner.setToolTip(deps.demo_hint)
            top.addWidget(self.demo_banner, 1)
        self.notice = _accent_frame(Tone.BUSY, "", names.NOTICE_BANNER)
        self.notice.hide()
        top.addWidget(self.notice, 1)
        outer.addLayout(top)

        self.banner = PatientBanner()
        self.banner.confirmed_changed.connect(self._confirmation_changed)
        outer.addWidget(self.banner)

        self.target = TargetPanel(deps.io_pool, deps.client)
        self.target.patient_chosen.connect(self.banner.set_patient)
        self.target.note_chosen.connect(self._note_chosen)
        self.target.provider_chosen.connect(self._provider_chosen)
        self.target.error.connect(self._show_exception)
        self.target.setMinimumWidth(280)

        self.table = QTableView()
        self.table.setObjectName(names.PHOTO_TABLE)
        self.table.setAccessibleName("Photos to send")
        self.table.setModel(self.model)
        self.table.setItemDelegate(PhotoDelegate(self.table))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table.setAcceptDrops(False)
        self.table.setTabKeyNavigation(False)  # Tab leaves the list; arrows move inside it
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        vh = self.table.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(ROW_HEIGHT)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(Column.PHOTO, QHeaderView.ResizeMode.Stretch)
        hh.setSectionResizeMode(Column.SIZE, QHeaderView.ResizeMode.Interactive)
        hh.setSectionResizeMode(Column.STATUS, QHeaderView.ResizeMode.Interactive)
        hh.resizeSection(Column.SIZE, 132)
        hh.resizeSection(Column.STATUS, 160)
        hh.setHighlightSections(False)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.group_heights = GroupHeights(self.table, self.model)

        self.drop_zone = DropZone(self.table)
        self.drop_zone.paths_dropped.connect(self.add_paths)
        self.drop_zone.image_dropped.connect(self.add_image)
        self.drop_zone.add_requested.connect(self.choose_files)
        self.rejections = RejectionsPanel()

        self.add_button = QPushButton("Add photos…")
        self.add_button.setObjectName(names.ADD_PHOTOS)
        self.add_button.setAccessibleName("Add photos")
        self.add_button.setToolTip("Add photos or a folder (Ctrl+O)")
        self.paste_button = QPushButton("Paste")
        self.paste_button.setObjectName(names.PASTE_PHOTOS)
        self.paste_button.setAccessibleName("Paste photos from the clipboard")
        self.paste_button.setToolTip("Paste photos or an image from the clipboard (Ctrl+V)")
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName(names.REMOVE_PHOTOS)
        self.remove_button.setAccessibleName("Remove selected photos")
        self.remove_button.setToolTip("Remove the selected photos from the list (Delete)")
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName(names.RETRY_BUTTON)
        self.retry_button.setAccessibleName("Retry selected photos")
        self.send_again_button = QPushButton("Send again…")
        self.send_again_button.setObjectName(names.SEND_AGAIN_BUTTON)
        self.send_again_button.setAccessibleName("Send selected photos again")
        self.settings_button = QPushButton("Settings…")
        self.settings_button.setObjectName(names.SETTINGS_BUTTON)
        self.settings_button.setAccessibleName("Settings")
        self.settings_button.setToolTip("Environment, organization and API key (Ctrl+,)")
        tools = QHBoxLayout()
        tools.setSpacing(6)
        for b in (
            self.add_button,
            self.paste_button,
            self.remove_button,
            self.retry_button,
            self.send_again_button,
        ):
            tools.addWidget(b)
        tools.addStretch(1)

        middle = QWidget()
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(0, 0, 0, 0)
        mid.setSpacing(8)
        heading = QLabel("Photos")
        f = heading.font()
        f.setWeight(f.Weight.DemiBold)
        heading.setFont(f)
        mid.addWidget(heading)
        mid.addLayout(tools)
        mid.addWidget(self.drop_zone, 1)
        mid.addWidget(self.rejections)
        self.held_ack = HeldPhotosAck()
        self.held_ack.changed.connect(lambda _on: self._refresh_state())
        mid.addWidget(self.held_ack)

        self.preview = PreviewPane(
            deps.image_pool,
            deps.client,
            net_pool=deps.net_pool,
            copies=deps.copies,
            stored=deps.stored,
        )
        mid.insertWidget(2, self.preview.size_control)
        self.preview.preset_changed.connect(self._preset_changed)
        self.preview.setMinimumWidth(300)
        self.target.patients.setMinimumHeight(60)
        self.target.notes.setMinimumHeight(60)
        self.table.setMinimumHeight(120)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setHandleWidth(12)
        for w in (self.target, middle, self.preview):
            self.splitter.addWidget(w)
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([260, 540, 424])
        outer.addWidget(self.splitter, 1)

        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        outer.addWidget(line)
        self.status_panel = StatusPanel()
        self.status_panel.upload_clicked.connect(self.upload)
        self.status_panel.action_requested.connect(self._error_action)
        outer.addWidget(self.status_panel)
        # A choice about the batch, beside Upload: it takes no room from the photos or preview.
        self.originals_option = OriginalsOption()
        self.status_panel.add_batch_choice(self.originals_option)
        self.setCentralWidget(central)
        self.connection_label = ConnectionLabel(deps.connection_text())
        self.statusBar().addPermanentWidget(self.connection_label)
        self.statusBar().addPermanentWidget(self.settings_button)

    def _build_actions(self) -> None:
        def action(
            text: str,
            keys: list[QKeySequence | QKeySequence.StandardKey | str],
            slot: Callable[[], None],
            context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
        ) -> QAction:
            act = QAction(text, self)
            act.setShortcuts([QKeySequence(k) for k in keys])
            act.setShortcutContext(context)
            act.triggered.connect(slot)
            self.addAction(act)
            return act

        self.add_action = action("Add photos…", [QKeySequence.StandardKey.Open], self.choose_files)
        self.add_folder_action = action("Add folder…", ["Ctrl+Shift+O"], self.choose_folder)
        self.paste_action = action("Paste photos", [QKeySequence.StandardKey.Paste], self.paste)
        self.remove_action = action(
            "Remove",
            [QKeySequence.StandardKey.Delete],
            self.remove_selected,
            Qt.ShortcutContext.WidgetWithChildrenShortcut,
        )
        self.table.addAction(self.remove_action)
        self.removeAction(self.remove_action)
        self.upload_action = action("Upload", ["Ctrl+U", "Ctrl+Return", "Ctrl+Enter"], self.upload)
        self.settings_action = action("Settings…", ["Ctrl+,"], self.deps.open_settings)
        self.history_action = action("History…", ["Ctrl+H"], self.deps.open_history)
        self.retry_action = action("Retry", [], self.retry_selected)
        self.send_again_action = action("Send again…", [], self.send_again_selected)
        self.cancel_action = action("Cancel sending", [], self.cancel_selected)
        self.include_copies = IncludeCopies(
            self,
            self.selected_rows,
            lambda ids: self.uploads.include(ids),
            self.show_notice,
            lambda: self.status_panel.show_error(None),
            self.deps.uploads.changed,
        )
        self.preview_action = action(
            "Preview",
            ["Space"],
            self._preview_current,
            Qt.ShortcutContext.WidgetShortcut,
        )
        self.table.addAction(self.preview_action)  # Space previews only inside the photo list
        self.removeAction(self.preview_action)

        self.add_button.clicked.connect(self.choose_files)
        self.paste_button.clicked.connect(self.paste)
        self.remove_button.clicked.connect(self.remove_selected)
        self.retry_button.clicked.connect(self.retry_selected)
        self.send_again_button.clicked.connect(self.send_again_selected)
        self.settings_button.clicked.connect(self.deps.open_settings)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.add_action)
        file_menu.addAction(self.add_folder_action)
        file_menu.addAction(self.paste_action)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addAction(self.history_action)
        file_menu.addSeparator()
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        photos_menu = menu.addMenu("&Photos")
        for act in (
            self.upload_action,
            self.remove_action,
            self.retry_action,
            self.send_again_action,
            self.include_copies.action,
            self.cancel_action,
        ):
            photos_menu.addAction(act)

    # ------------------------------------------------------------------ target
    @Slot(object)
    def _note_chosen(self, note: Note | None) -> None:
        self.banner.set_target(note, self._provider)
        if note is not None and note.facility is not None:
            self.connection_label.set_clinic(note.facility.name)
        self.model.set_current_note(note.id if note else None)
        self._check_staged()
        self._refresh_state()

    def _check_staged(self) -> None:
        """Show the photo checks' findings of the staged photos for the chosen note."""
        note = self.banner.note
        staged = [r.item_id for r in self.model.staged_rows() if r.item_id is not None]
        if staged:
            self.uploads.check(staged, note)  # no note: findings of the last one go
        self._show_checks()

    @Slot(object)
    def _facts_read(self, snap: PhotoSnapshot) -> None:
        """The checks read one photo: show it, and judge it against the chosen note."""
        self._apply_item(snap)
        note = self.banner.note
        if note is not None and snap.state == ItemState.STAGED:
            self.uploads.check([snap.id], note)

    @Slot(list)
    def _checked(self, snapshots: list[PhotoSnapshot]) -> None:
        self._apply_items(snapshots)
        self._show_checks()
        self._selection_changed()  # the selected photo's finding shows in the status panel

    def _show_checks(self) -> None:
        """The acknowledgement box while photos are held, and the label badge on the banner."""
        staged = self.model.staged_rows()
        held = [r for r in staged if r.check_stop and r.check_stop.kind is OutcomeKind.HELD]
        self.held_ack.set_held(len(held))
        found = [f.code for r in staged for f in r.findings]
        matches = [f for r in staged for f in r.findings if f.code is CheckCode.LABEL_MATCH]
        if CheckCode.LABEL_MISMATCH in found:
            # Never a reassuring badge while another patient's label is in the batch.
            others = found.count(CheckCode.LABEL_MISMATCH)
            text = (
                f"{'A photo shows' if others == 1 else f'{others} photos show'} another "
                "patient's label: not sent to this patient"
            )
            self.banner.show_label_match(text, Tone.ERROR)
        else:
            # The core words it: the chart's MRN, whichever identifier the label carried.
            self.banner.show_label_match(matches[0].message if matches else "")

    @Slot(object)
    def _provider_chosen(self, provider: Provider | None) -> None:
        self._provider = provider
        self.banner.set_provider(provider)
        self._refresh_state()

    @Slot(bool)
    def _confirmation_changed(self, _confirmed: bool) -> None:
        self._refresh_state()

    @Slot(object)
    def _show_exception(self, exc: BaseException) -> None:
        """A failed lookup or pool job: its plain message and next step in the status panel."""
        self.status_panel.show_error(describe_error(exc))

    def sendable_rows(self) -> list[PhotoRow]:
        """Staged photos the checks let go now (held ones once acknowledged for this batch)."""
        acknowledged = bool(self.held_ack.acknowledged())
        return [
            r
            for r in self.model.staged_rows()
            if r.check_stop is None or (r.check_stop.kind is OutcomeKind.HELD and acknowledged)
        ]

    def waiting_rows(self, note_id: str | None = None) -> list[PhotoRow]:
        """Queued rows not yet started (restored or held), optionally for one note."""
        return [
            r
            for r in self.model.rows()
            if not r.is_staged
            and r.state in WAITING_STATES
            and (note_id is None or r.note_id == note_id)
            and r.item_id not in self._started
        ]

    def listed_rows(self, note_id: str) -> list[PhotoRow]:
        """The photos a confirmation for ``note_id`` would cover: added and not yet queued,
        and queued for that note but not started."""
        return self.model.staged_rows() + self.waiting_rows(note_id)

    def covered_rows(self, note_id: str) -> list[PhotoRow]:
        """The listed photos the live confirmation covers for ``note_id`` (what Upload sends)."""
        return [r for r in self.listed_rows(note_id) if self.confirmation.covers(note_id, r)]

    def upload_rows(self, note_id: str) -> list[PhotoRow]:
        """The covered photos the photo checks let go now (the count on the Upload button)."""
        let_go = {r.key for r in self.sendable_rows()}
        return [r for r in self.covered_rows(note_id) if not r.is_staged or r.key in let_go]

    def reset_target(self) -> None:
        """Forget the chosen note and end the confirmation (the organization, environment or
        key changed)."""
        self.confirmation.end(Expiry.CONNECTION_CHANGED)
        self.target.clear()

    # ------------------------------------------------------------------ photos in
    @Slot()
    def choose_files(self) -> None:
        dialog = QFileDialog(self, "Add photos")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setNameFilter(IMAGE_FILTER)
        dialog.filesSelected.connect(lambda files: self.add_paths([Path(f) for f in files]))
        dialog.open()
        self._file_dialog = dialog

    @Slot()
    def choose_folder(self) -> None:
        dialog = QFileDialog(self, "Add a folder of photos")
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(lambda folder: self.add_paths([Path(folder)]))
        dialog.open()
        self._file_dialog = dialog

    @Slot()
    def paste(self) -> None:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None:
            return
        paths = paths_from_mime(mime)
        if paths:
            self.add_paths(paths)
            return
        image = image_from_mime(mime)
        if image is not None:
            self.add_image(image)
            return
        self.show_notice("The clipboard holds no photo or file.")

    @Slot(QImage)
    def add_image(self, image: QImage) -> None:
        """Raw image data (pasted or dropped): saved as a private PNG in the cache, then added."""
        copy = image.copy()
        folder = self._pasted_dir
        self.deps.image_pool.submit(
            lambda: jobs.save_clipboard_image(copy, folder),
            lambda path: self.add_paths([path]),
            self._show_exception,
        )

    @Slot(list)
    def add_paths(self, paths: list[Path]) -> None:
        """Scan files and folders on the pool; rows and rejections appear when it is done."""
        if not paths:
            return
        wanted = [Path(p) for p in paths]
        self.statusBar().showMessage(
            "Checking the photo you added…" if len(wanted) == 1 else "Checking what you added…"
        )
        self.uploads.stage(wanted)

    def _list_rows(self, result: Any) -> list[PhotoRow]:
        """Rows for staged photos not listed yet (a large drop is listed part by part)."""
        rows = [row_from_item(s) for s in result.photos if self.model.find_item(s.id) is None]
        for snap in result.photos:  # listed already by a queue notice: the newer snapshot
            if self.model.find_item(snap.id) is not None:  # wins (a copy's mark, say)
                self._apply_item(snap)
        self.model.add_rows(rows)
        if rows and not self.table.selectionModel().hasSelection():
            self.table.selectRow(self.model.rowCount() - len(rows))
        return rows

    @Slot(object)
    def _staged(self, result: Any) -> None:
        """Photos saved as staged: new rows (a file added twice keeps its one row)."""
        self._list_rows(result)
        for rejection in result.intake.rejected:
            self.rejections.add(
                rejection.path.name, rejection.reason, rejection.next_step, str(rejection.path)
            )
        n_ok, n_bad = len(result.added), len(result.intake.rejected)
        text = f"Added {n_ok} photo{'s' if n_ok != 1 else ''}"
        if n_bad:
            text += f"; {n_bad} file{'s' if n_bad != 1 else ''} not added (see the list below)"
        self.statusBar().showMessage(text + ".", 8000)
        self._check_staged()
        self.intake_done.emit(n_ok, n_bad)

    @Slot(object)
    def _estimate_wanted(self, path: Path) -> None:
        """A visible staged row needs its size after preparation (estimated on the pool)."""
        spec = self.preview.preset_spec()

        def done(size: int) -> None:
            self._estimate_done(path, spec, size)

        self._estimates.submit(
            path, lambda: jobs.estimate_one(path, spec), done, lambda _exc: None, priority=-1
        )

    def _estimate_done(self, path: Path, spec: str, size: int) -> None:
        if spec != self.preview.preset_spec():
            return
        for i, row in enumerate(self.model.rows()):
            if row.is_staged and row.path == path:
                self.model.update_row(i, size_after=size, size_after_is_estimate=True)

    @Slot(str)
    def _preset_changed(self, _spec: str) -> None:
        self.model.reset_estimates()  # visible rows ask again, with the new preset

    # ------------------------------------------------------------------ selection
    def selected_indexes(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def selected_rows(self) -> list[PhotoRow]:
        return [self.model.row_at(i) for i in self.selected_indexes()]

    @Slot()
    def _selection_changed(self) -> None:
        rows = self.selected_rows()
        self.preview.show_row(rows[0] if len(rows) == 1 else (rows[0] if rows else None))
        if rows and (rows[0].error or rows[0].state in _NEEDS_USER or rows[0].check_stop):
            self._show_row_error(rows[0])
        self._refresh_state()

    @Slot()
    def _preview_current(self) -> None:
        idx = self.table.currentIndex()
        if idx.isValid():
            self.preview.show_row(self.model.row_at(idx.row()))

    def select_row(self, i: int) -> None:
        self.table.selectionModel().select(
            self.model.index(i, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows,
        )
        self.table.setCurrentIndex(self.model.index(i, 0))

    def _context_menu(self, pos: Any) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        menu.addAction(self.preview_action)
        menu.addAction(self.retry_action)
        menu.addAction(self.send_again_action)
        menu.addAction(self.include_copies.action)
        menu.addAction(self.cancel_action)
        menu.addSeparator()
        menu.addAction(self.remove_action)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # ------------------------------------------------------------------ row actions
    @Slot()
    def remove_selected(self) -> None:
        indexes = self.selected_indexes()
        rows = [self.model.row_at(i) for i in indexes]
        busy = [r for r in rows if r.state in (ItemState.UPLOADING, ItemState.PREPARING)]
        ids = [r.item_id for r in rows if r.item_id is not None and r not in busy]
        self._removed.update(r.item_id for r in rows if r.is_staged and r.item_id is not None)
        self.uploads.remove(ids)
        # Photos not sent yet leave the list at once; the queue forgets them on the pool.
        for row in self.model.remove_row_indexes(
            [i for i in indexes if self.model.row_at(i).is_staged]
        ):
            self._drop_pasted(row.path)
        if busy:
            self.show_notice(
                f"{_photos(len(busy), 'is', 'are')} being sent right now and not removed; "
                "remove when sending has finished."
            )
        if not self.model.rowCount():
            self.preview.show_row(None)

    def _apply_items(self, items: list[Any]) -> None:
        for item in items:
            self._apply_item(item)

    @Slot()
    def retry_selected(self) -> None:
        rows = [r for r in self.selected_rows() if r.item_id is not None and r.state in _RETRYABLE]
        if not rows:
            self.show_notice("Select photos that failed or were cancelled to retry them.")
            return
        ids = [r.item_id for r in rows if r.item_id is not None]
        self._started.update(ids)
        self.uploads.retry(ids)

    @Slot()
    def cancel_selected(self) -> None:
        """Stop photos that are on their way (one already sent then waits for a decision)."""
        rows = [r for r in self.selected_rows() if r.item_id is not None and r.is_active]
        ids = [r.item_id for r in rows if r.item_id is not None]
        if not ids:
            self.show_notice("Select photos that are waiting or being sent to cancel them.")
            return
        self.uploads.cancel(ids)

    @Slot()
    def send_again_selected(self) -> None:
        rows = [
            r
            for r in self.selected_rows()
            if r.item_id is not None and r.state == ItemState.NEEDS_DECISION
        ]
        if not rows:
            self.show_notice(
                "'Send again' is for photos that may already be stored (EHR push failed, no "
                "answer, or a duplicate). Select one of those first."
            )
            return
        names_list = "\n".join(f"• {r.name}: {r.error or r.status.label}" for r in rows[:8])
        more = f"\n…and {len(rows) - 8} more" if len(rows) > 8 else ""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Send again? A copy may already be on the note",
            f"Max AI may already hold {'these photos' if len(rows) > 1 else 'this photo'}. "
            "Sending again can put a second copy on the patient's note.\n\n"
            f"{names_list}{more}\n\n"
            "Open the note in the EHR first. Send again only if the photo is not there.",
            QMessageBox.StandardButton.NoButton,
            self,
        )
        box.setObjectName("sendAgainQuestion")
        send = box.addButton("Send again", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Don't send", QMessageBox.ButtonRole.RejectRole)
        box.setDefaultButton(keep)
        ids = [r.item_id for r in rows if r.item_id is not None]

        def answered(_result: int) -> None:
            if box.clickedButton() is send:
                self._send_again(ids)

        box.finished.connect(answered)
        self._ask(box)

    def _send_again(self, ids: list[int]) -> None:
        self._started.update(ids)
        self.uploads.send_again(ids)

    def _ask(self, box: QMessageBox) -> None:
        box.setWindowModality(Qt.WindowModality.WindowModal)
        self._question = box
        box.open()
        self.question_shown.emit(box)

    @property
    def question(self) -> QMessageBox | None:
        """The question waiting for the user, if any (tests click its buttons)."""
        return self._question if self._question is not None and self._question.isVisible() else None

    # ------------------------------------------------------------------ upload
    def upload_block_reason(self) -> str:
        """Why Upload is disabled right now ("" when it is enabled)."""
        note = self.banner.note
        if note is None:
            return "Choose the patient's note first."
        if note.is_locked:
            return "This note is signed: choose another note."
        if self._provider is None:
            return "Choose the provider to upload as."
        if not self.listed_rows(note.id):
            return "Add photos to send."
        if not self.confirmation.is_confirmed:
            ended = self.confirmation.reason_text()
            return ended or "Tick 'I confirm this is the right patient' to enable Upload."
        if not self.upload_rows(note.id):
            if any(r.is_staged for r in self.covered_rows(note.id)):
                return "The photos in the list are held back by the photo checks (see each row)."
            return "Add photos to send."
        return ""

    @Slot()
    def upload(self) -> None:
        """Hand the staged photos (and those waiting for this note) to the upload service."""
        reason = self.upload_block_reason()
        if reason:
            self.show_notice(reason)
            return
        note, provider = self.banner.note, self._provider
        if note is None or provider is None:
            return
        covered = self.covered_rows(note.id)  # only what this confirmation covers
        waiting_rows = [r for r in covered if not r.is_staged]
        other_provider = [
            r for r in waiting_rows if r.extra.get("provider_id") not in (None, provider.id)
        ]
        if other_provider:
            self.show_notice(
                f"{_photos(len(other_provider), 'keeps', 'keep')} the provider chosen when "
                "queued; to send as another provider, remove and add again.",
                Tone.WARNING,
            )
        base_url, org_id = self.deps.connection()
        staged = [r.item_id for r in covered if r.is_staged and r.item_id is not None]
        waiting = [r.item_id for r in waiting_rows if r.item_id is not None]
        request = SubmitRequest(
            staged=staged,
            waiting=waiting,
            note_id=note.id,
            provider_id=provider.id,
            preset=self.preview.preset_spec(),
            base_url=base_url,
            org_id=org_id,
            acknowledged=self.held_ack.acknowledged(),
            trash_originals=self.originals_option.wanted(),
        )
        self.confirmation.batch_sent(staged + waiting)
        self._upload_pending = True
        self._refresh_state()
        self.uploads.submit(request)

    @Slot(object)
    def _submitted(self, result: Any) -> None:
        """The service queued what passed the checks; show every photo's new snapshot."""
        self._upload_pending = False
        self._apply_items([*result.queued, *result.stopped, *result.stand_ins.values()])
        self._apply_items(result.skipped)  # copies of a picture in the EHR stay, marked
        for staged_id in set(result.stand_ins) - {s.id for s in result.skipped}:
            self._removed.add(staged_id)
            i = self.model.find_item(staged_id)
            if i is not None:  # an earlier item stands for it: one row per photo
                self.model.remove_row_indexes([i])
        self._started.update(result.run)
        self.confirmation.batch_sent(list(result.run))
        self.held_ack.reset()  # an acknowledgement covers one batch
        self.originals_option.batch_queued()  # so does the choice about the originals
        self._show_checks()
        blocked = [s for s in result.stopped if s.outcome.kind is OutcomeKind.BLOCKED]
        held = [s for s in result.stopped if s.outcome.kind is OutcomeKind.HELD]
        if blocked or held:
            parts = []
            if blocked:
                parts.append(
                    f"{_photos(len(blocked), 'was', 'were')} not sent: {blocked[0].outcome.message}"
                )
            if held:
                why = held[0].outcome.message
                parts.append(f"{_photos(len(held), 'is', 'are')} held back: {why}")
            self.show_notice(" ".join(parts), Tone.ERROR if blocked else Tone.WARNING)
        self.uploads_queued.emit(list(result.run))
        self._refresh_state()
        self._selection_changed()

    @Slot(object)
    def _submit_failed(self, exc: BaseException) -> None:
        self._upload_pending = False
        outcome = describe_error(exc)
        self.status_panel.show_error(outcome)
        note = self.banner.note
        if outcome.action == Action.CHOOSE_NOTE:
            self.confirmation.end(Expiry.UPLOAD_REFUSED)  # the note itself was refused
            if note is not None:
                self.target.open_note(note.id)
        else:
            self.confirmation.batch_not_sent()
        self._refresh_state()

    # ------------------------------------------------------------------ engine events
    @Slot(object)
    def _item_changed(self, item: Any) -> None:
        self._apply_item(item)

    def _apply_item(self, snap: Any) -> None:
        """Show a photo's snapshot (``PhotoSnapshot`` or queue item); older ones are ignored."""
        if self._closed or snap is None:
            return
        item = snap.item if isinstance(snap, PhotoSnapshot) else snap
        i = self.model.find_item(int(item.id))
        if item.hidden or item.id in self._removed:
            if i is not None:
                self.model.remove_row_indexes([i])
            self._drop_pasted(Path(item.source_path))
            return
        if i is None:
            self.model.add_rows([row_from_item(snap)])
            i = self.model.find_item(int(item.id))
            if i is None:
                return
        else:
            old = self.model.row_at(i)
            if old.revision > int(item.revision):
                return
            self.model.replace_row(i, row_from_item(snap, old))
        row = self.model.row_at(i)
        if row.state == ItemState.VERIFIED:
            self._drop_pasted(row.path)
        if row.state in _NEEDS_USER and row.error:
            self._latest_error_item = row.item_id
            self._show_row_error(row)
        current = self.preview.current_row()
        if current is not None and current.item_id == row.item_id:
            self.preview.show_row(row)

    def _drop_pasted(self, path: Path) -> None:
        """Delete a pasted image's private PNG once no photo in the list still needs it (its
        upload is verified, or it was removed): the cache keeps no clinical photos it no longer
        needs."""
        if path.parent != self._pasted_dir:
            return
        if any(r.path == path and r.state != ItemState.VERIFIED for r in self.model.rows()):
            return
        self.deps.io_pool.submit(
            lambda: path.unlink(missing_ok=True),
            None,
            lambda exc: log.warning("Could not delete a pasted image: %s", exc),
        )

    def _show_row_error(self, row: PhotoRow) -> None:
        if row.outcome is not None:
            self.status_panel.show_error(row.outcome, row.name)

    @Slot(object)
    def _progress(self, progress: dict[int, tuple[int, int]]) -> None:
        self.model.set_progress(progress)

    @Slot(object)
    def _batch_finished(self, _counts: dict[str, int]) -> None:
        needs_user, text = batch_summary(self.model.group_counts())
        if needs_user:
            self.deps.notifier.notify("MaxUpload needs you", text, warning=True)
        else:
            self.deps.notifier.notify("Upload finished", text)

    @Slot(str, str)
    def _notice_from_notifier(self, title: str, text: str) -> None:
        if not self.deps.notifier.uses_tray or not self.isActiveWindow():
            tone = Tone.SUCCESS if title == "Upload finished" else Tone.WARNING
            self.show_notice(f"{title}: {text}", tone)

    def show_notice(self, text: str, tone: Tone = Tone.BUSY) -> None:
        """A one-line message above the banner (empty text hides it)."""
        color = ACCENTS[tone]
        self.notice.setStyleSheet(
            f"#{names.NOTICE_BANNER} {{ border: 1px solid {color}; border-left: 6px solid "
            f"{color}; border-radius: 6px; padding: 8px 12px; font-weight: 600; }}"
        )
        self.notice.setText(text)
        self.notice.setVisible(bool(text))

    @Slot()
    def _tick_rate_limit(self) -> None:
        engine = self.deps.engine
        seconds = engine.rate_limit_pause_remaining() if engine is not None else 0.0
        self.status_panel.set_rate_limit(seconds)

    @Slot(str)
    def _error_action(self, action: str) -> None:
        if action == Action.SETTINGS:
            self.deps.open_settings()
        elif action == Action.CHOOSE_NOTE:
            self.banner.clear_confirmation()
            self.target.search.setFocus()
            self.show_notice("Choose another note for these photos, or remove them.")
        elif action in (Action.SEND_AGAIN, Action.RETRY, Action.INCLUDE):
            i = self.model.find_item(self._latest_error_item or -1)
            if i is not None and not self.selected_indexes():
                self.select_row(i)
            if action == Action.SEND_AGAIN:
                self.send_again_selected()
            elif action == Action.INCLUDE:
                self.include_copies.include_selected()
            else:
                self.retry_selected()

    # ------------------------------------------------------------------ state
    @Slot()
    def _refresh_state(self) -> None:
        self.status_panel.set_counts(self.model.group_counts())
        reason = self.upload_block_reason()
        note = self.banner.note
        n = len(self.upload_rows(note.id)) if note else 0
        self.banner.set_photos_listed(bool(note and self.listed_rows(note.id)))
        name = note.patient.display_name if note and note.patient else "Unknown patient"
        if self._upload_pending:
            label, hint, enabled = "Sending…", "Checking the note and queueing the photos.", False
        elif not reason:
            label = f"Upload {n} photo{'s' if n != 1 else ''} to {name}"
            hint = "Sends the photos you confirmed."
            enabled = True
        else:
            label, hint, enabled = "Upload", reason, False
        self.status_panel.set_upload_state(enabled, label, hint)
        self.upload_action.setEnabled(enabled)
        rows = self.selected_rows()
        self.remove_button.setEnabled(bool(rows))
        self.retry_button.setEnabled(any(r.state in _RETRYABLE and r.item_id for r in rows))
        self.send_again_button.setEnabled(any(r.state == ItemState.NEEDS_DECISION for r in rows))
        self.cancel_action.setEnabled(any(r.is_active and r.item_id for r in rows))
        self.include_copies.refresh(rows)

    def has_pending_work(self) -> tuple[int, int]:
        """(photos still on their way, photos added but never sent)."""
        active = sum(1 for r in self.model.rows() if r.is_active)
        return active, len(self.model.staged_rows())

    # ------------------------------------------------------------------ restore
    def restore_items(self, items: list[Any]) -> None:
        """Show items restored from the queue file; nothing is sent until re-confirmed."""
        self.confirmation.end(Expiry.QUEUE_RESTORED)
        rows = [
            row_from_item(i)
            for i in items
            if not i.hidden and self.model.find_item(i.id) is None  # not added meanwhile
        ]
        self.model.add_rows(rows)
        for row in rows:
            if row.state == ItemState.VERIFIED:
                self._drop_pasted(row.path)
        keep = {r.path for r in rows if r.state != ItemState.VERIFIED}
        folder = self._pasted_dir
        self.deps.io_pool.submit(
            lambda: jobs.sweep_pasted(folder, keep),
            None,
            lambda exc: log.warning("Could not sweep old pasted images: %s", exc),
        )
        waiting = [r for r in rows if r.state in WAITING_STATES]
        staged = [r for r in rows if r.is_staged]
        self.uploads.read_facts([r.item_id for r in staged if r.item_id and not r.facts_read])
        if staged and not waiting:
            self.show_notice(
                f"{_photos(len(staged), 'added last time was', 'added last time were')} not "
                "sent yet. Choose the patient's note and confirm to send them."
            )
        if waiting:
            labels = sorted({r.target_label for r in waiting})
            note_ids = sorted({r.note_id for r in waiting if r.note_id})
            self.show_notice(
                f"{len(waiting)} photo{'s' if len(waiting) != 1 else ''} from the last session "
                f"wait for {labels[0] or 'their note'}. Check the patient and tick the "
                "confirmation to send them."
            )
            if note_ids:
                self.target.open_note(note_ids[0])
        self.restored.emit(len(rows))
        self._refresh_state()

    # ------------------------------------------------------------------ closing
    def close_without_asking(self) -> None:
        """Close through the normal path but skip the quit question (the system asked MaxUpload
        to stop): photos on their way stay in the queue for the next start."""
        self._force_close = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        active, staged = self.has_pending_work()
        if (active or staged) and not self._force_close:
            event.ignore()
            parts = []
            if active:
                parts.append(
                    f"{active} photo{'s are' if active != 1 else ' is'} still on the way. They "
                    "stay in the queue and are sent after you confirm the patient next time."
                )
            if staged:
                parts.append(
                    f"{staged} added photo{'s were' if staged != 1 else ' was'} not sent yet. "
                    f"{'They stay' if staged != 1 else 'It stays'} in the list for next time."
                )
            box = QMessageBox(
                QMessageBox.Icon.Question,
                "Quit MaxUpload?",
                "\n\n".join(parts),
                QMessageBox.StandardButton.NoButton,
                self,
            )
            box.setObjectName("quitQuestion")
            quit_button = box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
            keep = box.addButton("Keep working", QMessageBox.ButtonRole.RejectRole)
            box.setDefaultButton(keep)

            def answered(_r: int) -> None:
                if box.clickedButton() is quit_button:
                    self._force_close = True
                    QTimer.singleShot(0, self.close)

            box.finished.connect(answered)
            self._ask(box)
            return
        self._closed = True
        self._rate_timer.stop()
        event.accept()
        for callback in self.deps.on_closed:
            callback()
