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

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QImage
from PySide6.QtWidgets import (
    QMainWindow,
    QMessageBox,
    QWidget,
)

from maxupload.core.api.models import Provider
from maxupload.core.api.stored_copies import StoredCopies
from maxupload.core.checks.confirmation import DEFAULT_IDLE_SECONDS, Expiry
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.queue.model import RESUMABLE_STATES, ItemState
from maxupload.gui import jobs, names
from maxupload.gui.adaptive import AdaptiveLayout
from maxupload.gui.announce import Announcer
from maxupload.gui.confirmation_guard import ConfirmationGuard
from maxupload.gui.engine_bridge import EngineBridge
from maxupload.gui.keyboard import apply_window_focus_order
from maxupload.gui.note_refresh import NoteRefresher
from maxupload.gui.notify import Notifier
from maxupload.gui.photo_model import PhotoModel, row_from_item
from maxupload.gui.shown_error import ShownError
from maxupload.gui.status_text import Tone
from maxupload.gui.tasks import TaskPool
from maxupload.gui.thumbnails import JobsByPath, ThumbnailLoader
from maxupload.gui.upload_controller import UploadController
from maxupload.gui.window_intake import WindowIntake
from maxupload.gui.window_layout import WindowLayout
from maxupload.gui.window_menus import WindowMenus
from maxupload.gui.window_notices import WindowNotices
from maxupload.gui.window_recovery import WindowRecovery
from maxupload.gui.window_rows import WindowRows, photos_phrase
from maxupload.gui.window_target import WindowTarget
from maxupload.gui.window_upload import WindowUpload

log = logging.getLogger(__name__)


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


class MainWindow(
    WindowLayout,
    WindowMenus,
    WindowTarget,
    WindowIntake,
    WindowRows,
    WindowUpload,
    WindowRecovery,
    WindowNotices,
    QMainWindow,
):
    """The MaxUpload window: composes the parts built and wired in the ``window_*`` modules.

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
        self.shown_error = ShownError(self.status_panel)
        self.note_refresh = NoteRefresher(self.banner, self.target, deps.io_pool, deps.client, self)
        self.note_refresh.refreshed.connect(lambda _note_id: self._refresh_state())
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
        self.uploads.moved.connect(self._moved)
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
        self.model.rowsRemoved.connect(lambda *_: self.shown_error.prune(self.model.rows()))
        self._rate_timer = QTimer(self)
        self._rate_timer.setInterval(250)
        self._rate_timer.timeout.connect(self._tick_rate_limit)
        self._rate_timer.start()
        self.preview.set_preset_spec(deps.default_preset)
        self._refresh_state()
        self.resize(1280, 800)
        self.adaptive = AdaptiveLayout(self)

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
        waiting = [r for r in rows if r.state in RESUMABLE_STATES]
        staged = [r for r in rows if r.is_staged]
        self.uploads.read_facts([r.item_id for r in staged if r.item_id and not r.facts_read])
        if staged and not waiting:
            self.show_notice(
                f"{photos_phrase(len(staged), 'added last time was', 'added last time were')} not "
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

            def quit_now() -> None:
                self._force_close = True
                QTimer.singleShot(0, self.close)

            self.ask(
                QMessageBox.Icon.Question,
                "Quit MaxUpload?",
                "\n\n".join(parts),
                "quitQuestion",
                ("Quit", QMessageBox.ButtonRole.AcceptRole),
                "Keep working",
                quit_now,
            )
            return
        self._closed = True
        self._rate_timer.stop()
        event.accept()
        for callback in self.deps.on_closed:
            callback()
