"""Building the main window's widgets: banner, target, photo list, preview, status panel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from maxupload.gui import names
from maxupload.gui.banner import PatientBanner
from maxupload.gui.check_ack import HeldPhotosAck
from maxupload.gui.connection_label import ConnectionLabel
from maxupload.gui.drop_zone import DropZone
from maxupload.gui.originals_option import OriginalsOption
from maxupload.gui.photo_delegate import ROW_HEIGHT, PhotoDelegate
from maxupload.gui.photo_groups import GroupHeights
from maxupload.gui.photo_model import Column
from maxupload.gui.preview_pane import PreviewPane
from maxupload.gui.rejections import RejectionsPanel
from maxupload.gui.status_panel import StatusPanel
from maxupload.gui.status_text import ACCENTS, Tone
from maxupload.gui.target_panel import TargetPanel


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


class WindowLayout:
    """Builds the window's widgets and puts them in place (no handlers live here).

    A part of ``MainWindow`` (mixed in): the other ``window_*`` parts use what it builds.
    """

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
