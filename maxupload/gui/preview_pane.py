"""The preview pane: the selected photo as it will be sent, the size preset with estimates,
and after upload the stored copy fetched through its signed URL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.api.models import SignedUrl
from maxupload.core.api.stored_copies import StoredCopies
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.imaging.presets import DEFAULT_PRESET_NAME, PRESETS, get_preset
from maxupload.core.outcomes import describe_error
from maxupload.core.queue.model import ItemState
from maxupload.gui import jobs, names
from maxupload.gui.compare_dialog import CompareDialog
from maxupload.gui.headings import heading
from maxupload.gui.photo_model import PhotoRow, human_size
from maxupload.gui.size_control import BatchSizeBox
from maxupload.gui.status_text import Tone
from maxupload.gui.tasks import TaskPool
from maxupload.gui.tone_colors import set_tone_text
from maxupload.gui.zoom_view import ZoomView

CUSTOM = "custom"
#: Refresh a signed URL this many seconds before it expires.
URL_MARGIN_S = 120.0


class PreviewPane(QWidget):
    """Shows one photo; owns the preset choice for photos not sent yet.

    Signals:
        preset_changed(str): the preset spec for new uploads changed (e.g. ``custom:1600:85``).
        estimates_ready(dict): estimated sizes per preset spec for the shown photo.
        stored_shown(str): the stored copy of this image id is on screen.
    """

    preset_changed = Signal(str)
    estimates_ready = Signal(object)
    stored_shown = Signal(str)

    def __init__(
        self,
        pool: TaskPool,
        client: Callable[[], Any],
        parent: QWidget | None = None,
        net_pool: TaskPool | None = None,
        *,
        copies: PreparedCopies | None = None,
        stored: StoredCopies | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(names.PREVIEW_PANE)
        self._pool = pool
        # Stored copies and signed links wait on the network (and the rate limit): they run on
        # their own pool so they never hold up decoding the photos just dropped.
        self._net_pool = net_pool or pool
        self._copies = copies  # the prepared copy made for the preview is the one sent
        self._stored = stored  # the stored copy verification downloaded is the one shown
        self._client = client
        self._row: PhotoRow | None = None
        self._estimates: dict[str, int] = {}
        self._signed: SignedUrl | None = None
        self._jobs: dict[str, int] = {}
        self._url_timer = QTimer(self)
        self._url_timer.setSingleShot(True)
        self._url_timer.timeout.connect(self._refresh_url)

        self.title = heading("Preview")
        self.local = ZoomView("Select a photo to see it as it will be sent.", "As it will be sent")
        self.local.setObjectName(names.PREVIEW_LOCAL)
        self.local.setAccessibleName("The photo as it will be sent, zoomable")
        self.fit_button = QPushButton("Fit")
        self.fit_button.setObjectName(names.PREVIEW_FIT)
        self.fit_button.setAccessibleName("Fit the photo in the preview")
        self.fit_button.setToolTip("Show the whole photo (0)")
        self.fit_button.clicked.connect(self.local.fit)
        self.actual_button = QPushButton("100 %")
        self.actual_button.setObjectName(names.PREVIEW_ACTUAL)
        self.actual_button.setAccessibleName("Show the photo at actual size")
        self.actual_button.setToolTip("Actual pixels (1); drag or arrow keys move")
        self.actual_button.clicked.connect(self.local.actual_size)
        self.compare_button = QPushButton("Compare…")
        self.compare_button.setObjectName(names.PREVIEW_COMPARE)
        self.compare_button.setAccessibleName("Compare the photo with the stored copy side by side")
        self.compare_button.setToolTip("The photo and the stored copy side by side, zoomable")
        self.compare_button.clicked.connect(self.compare)
        self._compare: CompareDialog | None = None
        self.info = QLabel(" ")
        self.info.setObjectName(names.PREVIEW_INFO)
        self.info.setWordWrap(True)
        self.info.setMinimumHeight(2 * self.info.fontMetrics().lineSpacing() + 2)

        self.preset = QComboBox()
        self.preset.setObjectName(names.PRESET_COMBO)
        self.preset.setAccessibleName("Size preset for photos not sent yet")
        for name, preset in PRESETS.items():
            self.preset.addItem(preset.label or name.capitalize(), name)
        self.preset.addItem("Custom…", CUSTOM)
        self.preset.currentIndexChanged.connect(self._preset_changed)
        self.custom_edge = QSpinBox()
        self.custom_edge.setObjectName(names.CUSTOM_EDGE)
        self.custom_edge.setAccessibleName("Custom long edge in pixels")
        self.custom_edge.setRange(64, 20000)
        self.custom_edge.setSingleStep(100)
        self.custom_edge.setValue(1600)
        self.custom_edge.setSuffix(" px")
        self.custom_quality = QSpinBox()
        self.custom_quality.setObjectName(names.CUSTOM_QUALITY)
        self.custom_quality.setAccessibleName("Custom JPEG quality")
        self.custom_quality.setRange(30, 95)
        self.custom_quality.setValue(85)
        self.custom_quality.setPrefix("quality ")
        self._custom_debounce = QTimer(self)
        self._custom_debounce.setSingleShot(True)
        self._custom_debounce.setInterval(300)
        self._custom_debounce.timeout.connect(self._emit_preset)
        self.custom_edge.valueChanged.connect(lambda _v: self._custom_debounce.start())
        self.custom_quality.valueChanged.connect(lambda _v: self._custom_debounce.start())
        self.estimate = QLabel("Select a photo to see its estimated size.")
        self.estimate.setObjectName(names.ESTIMATE_LABEL)
        self.estimate.setWordWrap(True)
        self.estimate.setMinimumHeight(self.estimate.fontMetrics().lineSpacing() + 2)

        self.stored = ZoomView(
            "The stored copy appears here after the upload.", "Stored copy in Max AI"
        )
        self.stored.setObjectName(names.PREVIEW_STORED)
        self.stored.setAccessibleName("The stored copy in Max AI")
        self.stored_status = QLabel(" ")
        self.stored_status.setObjectName(names.STORED_STATUS)
        self.stored_status.setWordWrap(True)
        self.stored_status.setMinimumHeight(2 * self.stored_status.fontMetrics().lineSpacing() + 2)
        self.open_button = QPushButton("Open in browser")
        self.open_button.setObjectName(names.OPEN_IN_BROWSER)
        self.open_button.setAccessibleName("Open the stored copy in the browser")
        self.open_button.clicked.connect(self.open_in_browser)
        self.copy_button = QPushButton("Copy link")
        self.copy_button.setObjectName(names.COPY_LINK)
        self.copy_button.setAccessibleName("Copy the link to the stored copy")
        self.copy_button.clicked.connect(self.copy_link)
        self._set_link_enabled(False)

        # The size applies to the whole batch: the window places this box by the photo list.
        self.size_control = BatchSizeBox(self.preset, self.custom_edge, self.custom_quality)

        zoom = QHBoxLayout()
        zoom.setSpacing(6)
        zoom.addWidget(self.fit_button)
        zoom.addWidget(self.actual_button)
        zoom.addStretch(1)
        zoom.addWidget(self.compare_button)
        links = QHBoxLayout()
        links.addWidget(self.open_button)
        links.addWidget(self.copy_button)
        links.addStretch(1)

        self.title.setWordWrap(False)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.info.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.local, 5)
        self.local.setMinimumHeight(100)
        layout.addLayout(zoom)
        layout.addWidget(self.info)
        layout.addWidget(self.estimate)
        # The stored copy only takes room once the photo has been sent: before that the photo
        # to check gets the whole pane.
        self.stored_box = QWidget()
        stored_layout = QVBoxLayout(self.stored_box)
        stored_layout.setContentsMargins(0, 0, 0, 0)
        stored_layout.setSpacing(6)
        stored_layout.addWidget(self.stored, 1)
        self.stored.setMinimumHeight(60)
        stored_layout.addWidget(self.stored_status)
        stored_layout.addLayout(links)
        layout.addWidget(self.stored_box, 3)
        self.stored_box.hide()
        self._show_custom(False)

    def focus_widgets(self) -> list[QWidget]:
        """The pane's controls in Tab order (the size box is placed and ordered by the window)."""
        return [
            self.local,
            self.fit_button,
            self.actual_button,
            self.compare_button,
            self.stored,
            self.open_button,
            self.copy_button,
        ]

    @Slot()
    def compare(self) -> None:
        """Open (or refresh) the side-by-side view of the prepared photo and the stored copy."""
        if self._compare is None:
            self._compare = CompareDialog(self.window())
        title = self._row.name if self._row is not None else ""
        self._compare.show_images(title, self.local.current_image(), self.stored.current_image())
        self._compare.show()
        self._compare.raise_()

    # --- preset -------------------------------------------------------------------------
    def preset_spec(self) -> str:
        """The current preset as a spec string for ``get_preset``."""
        name = self.preset.currentData()
        if name == CUSTOM:
            return f"custom:{self.custom_edge.value()}:{self.custom_quality.value()}"
        return str(name)

    def set_preset_spec(self, spec: str) -> None:
        """Select a preset by spec (unknown specs fall back to the default)."""
        try:
            preset = get_preset(spec)
        except ValueError:
            preset = get_preset(DEFAULT_PRESET_NAME)
        if preset.name in PRESETS:
            self.preset.setCurrentIndex(self.preset.findData(preset.name))
        else:
            self.custom_edge.setValue(preset.long_edge or 2000)
            self.custom_quality.setValue(preset.quality)
            self.preset.setCurrentIndex(self.preset.findData(CUSTOM))

    def _show_custom(self, visible: bool) -> None:
        self.custom_edge.setVisible(visible)
        self.custom_quality.setVisible(visible)

    @Slot(int)
    def _preset_changed(self, _index: int) -> None:
        self._show_custom(self.preset.currentData() == CUSTOM)
        self._emit_preset()

    @Slot()
    def _emit_preset(self) -> None:
        spec = self.preset_spec()
        self.preset_changed.emit(spec)
        if self._row is not None:
            self._render_local(self._row)
            self._load_estimates(self._row)

    # --- showing a row ------------------------------------------------------------------
    def current_row(self) -> PhotoRow | None:
        return self._row

    def show_row(self, row: PhotoRow | None) -> None:
        """Show ``row`` (None clears). Reloads only what changed."""
        old = self._row
        self._row = row
        if row is None:
            self._cancel("local")  # the photo left the list: its preview work is not needed
            self._cancel("estimates")
            self.title.setText("Preview")
            self.local.set_image(None)
            self.local.set_placeholder("Select a photo to see it as it will be sent.")
            self.info.setText(" ")
            self.estimate.setText("Select a photo to see its estimated size.")
            self._clear_stored("The stored copy appears here after the upload.")
            self.stored_box.hide()
            return
        self.title.setText(f"Preview: {row.name}")
        self.stored_box.setVisible(not row.is_staged)
        if old is None or old.path != row.path:
            self._render_local(row)
            self._load_estimates(row)
        changed = old is None or old.key != row.key or old.image_id != row.image_id
        missing = row.is_stored and not self.stored.has_image() and self._signed is None
        if changed or missing:
            self._load_stored(row)

    def _cancel(self, what: str) -> None:
        job = self._jobs.pop(what, 0)
        if job:
            (self._net_pool if what == "stored" else self._pool).cancel(job)

    def _render_local(self, row: PhotoRow) -> None:
        self._cancel("local")
        spec = row.extra.get("preset") if not row.is_staged else self.preset_spec()
        spec = str(spec or self.preset_spec())
        self.local.set_image(None)
        self.local.set_placeholder("Preparing preview…")
        path = row.path

        def done(view: jobs.PreparedView) -> None:
            if self._row is None or self._row.path != path:
                return
            self.local.set_image(view.image)
            kind = view.mime_type.split("/")[-1].upper()
            self.info.setText(
                f"{view.width} x {view.height} px {kind}, {human_size(view.size)}, "
                f"sent as {view.file_name}; location and camera data removed."
            )
            self.info.setToolTip(self.info.text())

        def failed(exc: BaseException) -> None:
            if self._row is None or self._row.path != path:
                return
            text = describe_error(exc)
            self.local.set_placeholder(f"Cannot show this photo: {text.summary}")
            self.info.setText(text.next_step)

        copies = self._copies
        self._jobs["local"] = self._pool.submit(
            lambda: jobs.render_prepared(path, spec, copies), done, failed
        )

    def _load_estimates(self, row: PhotoRow) -> None:
        self._cancel("estimates")
        specs = [*PRESETS.keys()]
        if self.preset.currentData() == CUSTOM:
            specs.append(self.preset_spec())
        path = row.path
        self.estimate.setText("Estimating sizes…")

        def done(sizes: dict[str, int]) -> None:
            if self._row is None or self._row.path != path:
                return
            self._estimates = sizes
            self._show_estimates(row.size_before)
            self.estimates_ready.emit(dict(sizes))

        def failed(exc: BaseException) -> None:
            self.estimate.setText(f"No estimate: {describe_error(exc).summary}")

        self._jobs["estimates"] = self._pool.submit(
            lambda: jobs.estimate_sizes(path, specs), done, failed
        )

    def _show_estimates(self, original: int) -> None:
        for i in range(self.preset.count()):
            name = self.preset.itemData(i)
            base = PRESETS[name].label if name in PRESETS else "Custom…"
            size = self._estimates.get(name)
            text = f"{base}   ≈ {human_size(size)}" if size is not None else base
            self.preset.setItemText(i, text)
        current = self._estimates.get(self.preset_spec())
        row = self._row
        if (
            row is not None
            and not row.is_staged
            and row.size_after
            and not row.size_after_is_estimate
        ):
            used = preset_label(str(row.extra.get("preset", "")))
            self.estimate.setText(f"Selected photo: sent {human_size(row.size_after)} at {used}.")
        elif current is not None:
            self.estimate.setText(
                f"Selected photo: ≈ {human_size(current)} (file {human_size(original)})."
            )
        else:
            self.estimate.setText(" ")

    def estimates(self) -> dict[str, int]:
        return dict(self._estimates)

    # --- stored copy --------------------------------------------------------------------
    def _clear_stored(self, text: str) -> None:
        self._cancel("stored")
        self._url_timer.stop()
        self._signed = None
        self.stored.set_image(None)
        self.stored.set_placeholder(text)
        self.stored_status.setText(" ")
        self._set_link_enabled(False)

    def _set_link_enabled(self, enabled: bool) -> None:
        self.open_button.setEnabled(enabled)
        self.copy_button.setEnabled(enabled)

    def _load_stored(self, row: PhotoRow) -> None:
        if not row.is_stored or row.note_id is None or row.image_id is None:
            self._clear_stored(
                "The stored copy appears here after the upload."
                if row.state not in (ItemState.FAILED, ItemState.NEEDS_DECISION)
                else "Nothing confirmed as stored for this photo."
            )
            return
        if row.state in (ItemState.SYNCED, ItemState.PENDING_UPLOAD) and not row.error:
            # Verification is downloading this copy now; it is shown from there once verified.
            self._clear_stored("Checking the stored copy…")
            return
        self._clear_stored("Fetching the stored copy…")
        client = self._client
        note_id, image_id = row.note_id, row.image_id

        def done(view: jobs.StoredView) -> None:
            if self._row is None or self._row.image_id != image_id:
                return
            self.stored.set_image(view.image)
            self._accept_url(view.signed)
            self.stored_shown.emit(image_id)

        def failed(exc: BaseException) -> None:
            if self._row is None or self._row.image_id != image_id:
                return
            text = describe_error(exc)
            hint = " Archived photos may have no stored copy." if row.state == "archived" else ""
            self.stored.set_placeholder(f"Could not fetch the stored copy: {text.summary}{hint}")
            self.stored_status.setText(text.next_step)

        stored = self._stored
        self._jobs["stored"] = self._net_pool.submit(
            lambda: jobs.fetch_stored(client(), note_id, image_id, stored), done, failed
        )

    def _accept_url(self, signed: SignedUrl) -> None:
        self._signed = signed
        self._set_link_enabled(True)
        remaining = (signed.expires_at - datetime.now(UTC)).total_seconds()
        local = signed.expires_at.astimezone().strftime("%H:%M")
        self.stored_status.setText(f"Fetched by signed link, valid until {local} (renewed).")
        set_tone_text(self.stored_status, Tone.SUCCESS, bold=False)
        self._url_timer.start(int(max(5.0, remaining - URL_MARGIN_S) * 1000))

    def signed_url(self) -> SignedUrl | None:
        return self._signed

    @Slot()
    def _refresh_url(self, then: Callable[[SignedUrl], None] | None = None) -> None:
        row = self._row
        if row is None or row.note_id is None or row.image_id is None:
            return
        client = self._client
        note_id, image_id = row.note_id, row.image_id

        def done(signed: SignedUrl) -> None:
            if self._row is None or self._row.image_id != image_id:
                return
            self._accept_url(signed)
            if then is not None:
                then(signed)

        def failed(exc: BaseException) -> None:
            self.stored_status.setText(f"Could not renew the link: {describe_error(exc).summary}")

        self._net_pool.submit(
            lambda: jobs.fetch_signed_url(client(), note_id, image_id), done, failed
        )

    def _with_fresh_url(self, action: Callable[[SignedUrl], None]) -> None:
        signed = self._signed
        if signed is not None and not signed.is_expired(datetime.now(UTC), margin_s=URL_MARGIN_S):
            action(signed)
        else:
            self._refresh_url(action)

    @Slot()
    def open_in_browser(self) -> None:
        def open_url(signed: SignedUrl) -> None:
            QDesktopServices.openUrl(QUrl(signed.url))

        self._with_fresh_url(open_url)

    @Slot()
    def copy_link(self) -> None:
        def copy(signed: SignedUrl) -> None:
            QGuiApplication.clipboard().setText(signed.url)
            self.stored_status.setText("Link copied. It stops working when it expires.")

        self._with_fresh_url(copy)


def preset_label(spec: str) -> str:
    try:
        preset = get_preset(spec)
    except ValueError:
        return spec
    return preset.label or preset.name
