"""Settings: environment, organization, API key (kept in the OS keyring), test connection,
default size preset and how many photos are sent at once.

Keyring and network calls run on the worker pool; the dialog opens with ``open()``/``show()``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from maxupload.core.api.environments import ENVIRONMENTS, environment_name, resolve_base_url
from maxupload.core.checks.confirmation import MAX_IDLE_SECONDS
from maxupload.core.config.managed import ManagedSettings
from maxupload.core.config.secrets import check_connection, check_key_prefix, mask_key
from maxupload.core.config.settings import (
    MAX_CONCURRENCY,
    MIN_CONCURRENCY,
    Settings,
    SettingsError,
    save_settings,
    validate,
)
from maxupload.core.imaging.presets import PRESETS
from maxupload.core.outcomes import describe_error
from maxupload.gui import names
from maxupload.gui.announce import name_spin_box_text
from maxupload.gui.managed_locks import apply_locks, retention_box
from maxupload.gui.status_text import Tone
from maxupload.gui.tasks import TaskPool
from maxupload.gui.tone_colors import tone_style

CUSTOM_ENV = "custom"


@dataclass(frozen=True)
class SaveResult:
    """What Save did: the settings written and where the key went."""

    settings: Settings
    key_changed: bool
    key_persistent: bool


def _tone_style(tone: Tone) -> str:
    return tone_style(tone)


class SettingsDialog(QDialog):
    """Edits ``Settings`` and the API key.

    Signals:
        saved(object): a ``SaveResult`` after the settings (and key) were stored.
        tested(object): a ``ConnectionReport`` or the exception from Test connection.
    """

    saved = Signal(object)
    tested = Signal(object)

    def __init__(
        self,
        settings: Settings,
        store: Any,
        pool: TaskPool,
        *,
        demo: bool = False,
        persist: bool = True,
        managed: ManagedSettings | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName(names.SETTINGS_DIALOG)
        self.setWindowTitle("MaxUpload settings")
        self.setMinimumWidth(560)
        self._settings = settings
        self._store = store
        self._pool = pool
        self._persist = persist
        self._demo = demo

        self.environment = QComboBox()
        self.environment.setObjectName(names.SETTINGS_ENVIRONMENT)
        self.environment.setAccessibleName("Environment")
        self.environment.addItem("Production (api.maxcare.ai)", "production")
        self.environment.addItem("Staging (api.maxcare.dev)", "staging")
        self.environment.addItem("Other address…", CUSTOM_ENV)
        self.base_url = QLineEdit()
        self.base_url.setObjectName(names.SETTINGS_BASE_URL)
        self.base_url.setAccessibleName("Base URL")
        self.org = QLineEdit(settings.org_id)
        self.org.setObjectName(names.SETTINGS_ORG)
        self.org.setAccessibleName("Organization id")
        self.org.setPlaceholderText("the clinic's organization id")
        self.key = QLineEdit()
        self.key.setObjectName(names.SETTINGS_KEY)
        self.key.setAccessibleName("API key")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("paste a new key to replace the saved one")
        self.key_state = QLabel("Checking the key store…")
        self.key_state.setObjectName(names.SETTINGS_KEY_STATE)
        self.key_state.setWordWrap(True)
        self.health = QLabel("Checking the key store…")
        self.health.setObjectName(names.SETTINGS_STORE_HEALTH)
        self.health.setWordWrap(True)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName(names.SETTINGS_TEST)
        self.test_button.setAccessibleName("Test connection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel()
        self.test_result.setObjectName(names.SETTINGS_TEST_RESULT)
        self.test_result.setWordWrap(True)
        self.preset = QComboBox()
        self.preset.setObjectName(names.SETTINGS_PRESET)
        self.preset.setAccessibleName("Default size preset")
        for name, preset in PRESETS.items():
            self.preset.addItem(preset.label or name, name)
        if self.preset.findData(settings.preset) < 0:
            self.preset.addItem(settings.preset, settings.preset)
        self.preset.setCurrentIndex(self.preset.findData(settings.preset))
        self.concurrency = QSpinBox()
        self.concurrency.setObjectName(names.SETTINGS_CONCURRENCY)
        self.concurrency.setAccessibleName("Photos sent at once")
        name_spin_box_text(self.concurrency)
        self.concurrency.setRange(MIN_CONCURRENCY, MAX_CONCURRENCY)
        self.concurrency.setValue(settings.concurrency)
        self.concurrency.setToolTip("Takes effect the next time MaxUpload starts.")
        self.concurrency.setSuffix("  (from the next start)")
        self.confirm_idle = QSpinBox()
        self.confirm_idle.setObjectName(names.SETTINGS_CONFIRM_IDLE)
        self.confirm_idle.setAccessibleName("Patient confirmation ends after minutes unused")
        self.confirm_idle.setRange(1, MAX_IDLE_SECONDS // 60)
        self.confirm_idle.setSuffix(" min without an upload")
        self.confirm_idle.setValue(max(1, round(settings.confirm_idle_seconds / 60)))
        self.confirm_idle.setToolTip(
            "A patient confirmation that is not used within this time ends; it also ends when "
            "its batch is done. It cannot be turned off."
        )

        env = environment_name(settings.base_url)
        self.environment.setCurrentIndex(max(0, self.environment.findData(env)))
        self.base_url.setText(settings.base_url)
        self.environment.currentIndexChanged.connect(self._env_changed)
        self._env_changed()

        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.addRow("Environment", self.environment)
        form.addRow("Base URL", self.base_url)
        form.addRow("Organization", self.org)
        form.addRow("API key", self.key)
        form.addRow("", self.key_state)
        form.addRow("Key store", self.health)
        form.addRow("", self.test_button)
        form.addRow("", self.test_result)
        form.addRow("Default size", self.preset)
        form.addRow("Photos sent at once", self.concurrency)
        form.addRow("Confirmation ends after", self.confirm_idle)
        name_spin_box_text(self.confirm_idle)
        self.retention = retention_box(settings.history_retention_days)
        name_spin_box_text(self.retention)
        form.addRow("Keep upload history", self.retention)
        if managed is not None:
            locked = {"base_url": [self.environment, self.base_url], "org_id": [self.org]}
            locked.update(preset=[self.preset], history_retention_days=[self.retention])
            locked.update(confirm_idle_minutes=[self.confirm_idle])
            apply_locks(form, managed, locked)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setObjectName(names.SETTINGS_SAVE)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.message = QLabel()
        self.message.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 20, 20, 16)
        layout.setSpacing(12)
        if demo:
            note = QLabel(
                "Demo mode: these settings point at the local sandbox. The demo key is kept in "
                "memory only and never written to your keyring."
            )
            note.setWordWrap(True)
            note.setStyleSheet(_tone_style(Tone.WARNING))
            layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self._check_store()

    # --- helpers ------------------------------------------------------------------------
    def base_url_value(self) -> str:
        env = self.environment.currentData()
        if env in ENVIRONMENTS:
            return ENVIRONMENTS[env]
        return resolve_base_url(self.base_url.text())

    @Slot()
    def _env_changed(self) -> None:
        env = self.environment.currentData()
        custom = env == CUSTOM_ENV
        self.base_url.setEnabled(custom)
        if not custom:
            self.base_url.setText(ENVIRONMENTS[env])

    def _check_store(self) -> None:
        store = self._store
        base_url, org = self.base_url_value(), self.org.text().strip()

        def job() -> tuple[Any, str | None]:
            health = store.health()
            key = store.get(base_url, org) if org else None
            return health, (mask_key(key) if key else None)

        def done(result: tuple[Any, str | None]) -> None:
            health, masked = result
            tone = {"ready": Tone.SUCCESS, "locked": Tone.WARNING}.get(health.state, Tone.ERROR)
            self.health.setText(health.message)
            self.health.setStyleSheet(_tone_style(tone))
            if masked:
                self.key_state.setText(f"A key is saved for this organization ({masked}).")
            else:
                self.key_state.setText("No key saved for this organization yet.")

        def failed(exc: BaseException) -> None:
            self.health.setText(describe_error(exc).summary)

        self._pool.submit(job, done, failed)

    def _current_key(self) -> str | None:
        """The key typed in the dialog, else None (then the saved one is used)."""
        text = self.key.text().strip()
        return text or None

    # --- test connection ----------------------------------------------------------------
    @Slot()
    def test_connection(self) -> None:
        base_url, org = self.base_url_value(), self.org.text().strip()
        typed = self._current_key()
        store = self._store
        if not org:
            self.test_result.setText("Enter the organization id first.")
            self.test_result.setStyleSheet(_tone_style(Tone.WARNING))
            return

        def job() -> Any:
            key = typed or store.get(base_url, org)
            if not key:
                raise LookupError("no key")
            return check_connection(base_url, key, org)

        def done(report: Any) -> None:
            scopes = ", ".join(report.info.scopes) or "none"
            lines = [
                f"Connected to organization {report.info.organization_id or org}.",
                f"Permissions: {scopes}.",
            ]
            lines.extend(report.warnings)
            if report.missing_helpful:
                lines.append(
                    "Without "
                    + ", ".join(report.missing_helpful)
                    + " you can still paste a note id, but not search patients or providers."
                )
            self.test_result.setText("\n".join(lines))
            self.test_result.setStyleSheet(_tone_style(Tone.SUCCESS if report.ok else Tone.WARNING))
            self.test_button.setEnabled(True)
            self.adjustSize()
            self.tested.emit(report)

        def failed(exc: BaseException) -> None:
            if isinstance(exc, LookupError):
                text = "Enter the API key first (none is saved for this organization)."
            else:
                info = describe_error(exc)
                text = f"{info.summary} {info.next_step}"
                if info.trace_id:
                    text += f" (trace_id {info.trace_id})"
            self.test_result.setText(text)
            self.test_result.setStyleSheet(_tone_style(Tone.ERROR))
            self.test_button.setEnabled(True)
            self.adjustSize()
            self.tested.emit(exc)

        self.test_button.setEnabled(False)
        self.test_result.setText("Testing…")
        self.test_result.setStyleSheet("")
        self._pool.submit(job, done, failed)

    # --- save ---------------------------------------------------------------------------
    @Slot()
    def save(self) -> None:
        try:
            new = validate(
                replace(
                    self._settings,
                    base_url=self.base_url_value(),
                    org_id=self.org.text().strip(),
                    preset=str(self.preset.currentData()),
                    concurrency=self.concurrency.value(),
                    confirm_idle_seconds=self._idle_seconds(),
                    history_retention_days=self.retention.value(),
                )
            )
        except SettingsError as exc:
            self._show_message(f"Not saved: {exc}.", Tone.ERROR)
            return
        key = self._current_key()
        if key:
            warning = check_key_prefix(key, new.base_url)
            if warning:
                self._show_message(warning, Tone.WARNING)
        store, persist = self._store, self._persist

        def job() -> SaveResult:
            persistent = True
            if key:
                if not new.org_id:
                    raise SettingsError("enter the organization id before the key")
                persistent = bool(store.set(new.base_url, new.org_id, key))
            if persist:
                save_settings(new)
            return SaveResult(new, key is not None, persistent)

        def done(result: SaveResult) -> None:
            self.key.clear()
            self._settings = result.settings
            if result.key_changed and not result.key_persistent:
                self._show_message(
                    "Saved. The key is kept in memory for this run only: " + self.health.text(),
                    Tone.WARNING,
                )
            else:
                self._show_message("Saved.", Tone.SUCCESS)
            self.saved.emit(result)
            self._check_store()
            self.accept()

        def failed(exc: BaseException) -> None:
            if isinstance(exc, SettingsError):
                self._show_message(f"Not saved: {exc}.", Tone.ERROR)
            else:
                info = describe_error(exc)
                self._show_message(f"Not saved: {info.summary} {info.next_step}", Tone.ERROR)

        self._show_message("Saving…", Tone.NEUTRAL)
        self._pool.submit(job, done, failed)

    def _idle_seconds(self) -> int:
        """The idle time in seconds; a saved value that is not whole minutes is kept unless
        the minutes were changed."""
        old = self._settings.confirm_idle_seconds
        minutes = self.confirm_idle.value()
        return old if minutes == max(1, round(old / 60)) else minutes * 60

    def _show_message(self, text: str, tone: Tone) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(_tone_style(tone))
