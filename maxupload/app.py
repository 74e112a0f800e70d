"""The composition root: the one place where MaxUpload's objects are built and wired.

``run_gui(sandbox)`` is what ``maxupload`` (no subcommand) runs; ``--sandbox`` starts the
embedded sandbox with its demo clinic and a demo key kept in memory only.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import shutil
import signal
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from maxupload import APP_NAME, __version__
from maxupload.core.api.client import ApiClient
from maxupload.core.api.environments import environment_words
from maxupload.core.api.models import Target
from maxupload.core.checks.photo import read_facts
from maxupload.core.config.managed import (
    ManagedConfigError,
    ManagedSettings,
    enforce_locks,
    load_effective,
    load_managed,
)
from maxupload.core.config.secrets import StoreHealth, resolve_api_key
from maxupload.core.config.settings import Settings
from maxupload.core.engine.current_client import CurrentClient, Generation
from maxupload.core.errors import MaxUploadError
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.system import processes
from maxupload.core.system.large_allocations import keep_large_blocks_on_mmap
from maxupload.core.system.paths import app_paths
from maxupload.core.system.worker_priority import yield_to_window

log = logging.getLogger(__name__)

DEMO_TEXT = "Demo mode: local sandbox with made-up patients; nothing reaches a real EHR."
DEMO_HINT = (
    "Try it: search “Rivera”, pick the open note, tick the confirmation, drop photos, Upload."
)


class MissingKey(MaxUploadError):
    """No API key is known for the organization in the settings."""

    window_action = "settings"
    next_step = "Open Settings (Ctrl+,), enter the organization id and the clinic's API key."


class MemoryKeyStore:
    """A key store that never writes anywhere: used in demo mode for the sandbox's demo key."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def health(self) -> StoreHealth:
        return StoreHealth(
            "ready",
            "memory (demo mode)",
            "Demo mode: the demo key is kept in memory only and never written to your keyring.",
        )

    def get(self, base_url: str, org_id: str) -> str | None:
        with self._lock:
            return self._keys.get((base_url.rstrip("/"), org_id))

    def set(self, base_url: str, org_id: str, key: str) -> bool:
        with self._lock:
            self._keys[(base_url.rstrip("/"), org_id)] = key.strip()
        return False

    def delete(self, base_url: str, org_id: str) -> bool:
        with self._lock:
            return self._keys.pop((base_url.rstrip("/"), org_id), None) is not None


class Connection:
    """The API client of the current settings, built on first use on a worker thread
    (reading the key may wait on the OS keyring). The key never leaves this object."""

    def __init__(self, settings: Settings, key_store: Any, gate: Any = None) -> None:
        self._settings = settings
        self._store = key_store
        self._gate = gate
        self._client: Any = None
        self._lock = threading.Lock()
        self.generation = Generation()  # moves on with every change: workers rebuild clients

    @property
    def settings(self) -> Settings:
        return self._settings

    def set_gate(self, gate: Any) -> None:
        self._gate = gate

    def key_for(self, base_url: str, org_id: str) -> str:
        if isinstance(self._store, MemoryKeyStore):
            key = self._store.get(base_url, org_id)
        else:
            key = resolve_api_key(base_url, org_id, self._store)
        if not key:
            raise MissingKey(f"No API key is saved for organization {org_id or '(none)'}.")
        return key

    def make_client(self, base_url: str, org_id: str) -> Any:
        return ApiClient(base_url, self.key_for(base_url, org_id), org_id, gate=self._gate)

    def worker_client(self, target: Target) -> CurrentClient:
        """An upload worker's client for ``target``: it sends with the key saved last."""
        return CurrentClient(
            lambda: self.make_client(target.base_url, target.org_id), self.generation
        )

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                s = self._settings
                if not s.org_id:
                    raise MissingKey("MaxUpload is not connected to a clinic yet.")
                self._client = self.make_client(s.base_url, s.org_id)
            return self._client

    def current(self) -> tuple[str, str]:
        return self._settings.base_url, self._settings.org_id

    def describe(self) -> str:
        """The environment in words for the status bar (addresses and ids stay in Settings)."""
        s = self._settings
        words = environment_words(s.base_url)
        return words if s.org_id else f"{words}, no clinic set up"

    def update(self, settings: Settings) -> None:
        """New settings: the next call builds a new client (the old one is closed)."""
        with self._lock:
            old, self._client = self._client, None
            self._settings = settings
            self.generation.bump()
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()

    def close(self) -> None:
        self.update(self._settings)


def _icon_path() -> Path | None:
    here = Path(__file__).resolve().parent
    for base in (here / "resources", here.parent / "resources"):
        candidate = base / "icons" / "256x256" / "maxupload.png"
        if candidate.exists():
            return candidate
    return None


class AppContext:
    """Builds the window and everything behind it; ``shutdown()`` takes it all down again."""

    def __init__(
        self,
        *,
        settings: Settings,
        key_store: Any,
        demo_server: Any = None,
        persist_settings: bool = True,
        queue_path: Path | None = None,
        cache_dir: Path | None = None,
        workers: int | None = None,
        managed: ManagedSettings | None = None,
    ) -> None:
        from PySide6.QtGui import QIcon

        from maxupload.core.engine.scheduler import UploadEngine
        from maxupload.core.queue.store import QueueStore
        from maxupload.core.uploads import UploadService
        from maxupload.gui.engine_bridge import EngineBridge, EngineListenerAdapter
        from maxupload.gui.main_window import MainWindow, WindowDeps
        from maxupload.gui.notify import Notifier
        from maxupload.gui.tasks import TaskPool
        from maxupload.gui.upload_controller import UploadController
        from maxupload.gui.warm_up import WarmUp, start_up_steps

        self.demo_server = demo_server
        self.key_store = key_store
        self.persist_settings = persist_settings
        self.managed = managed if managed is not None else load_managed()
        settings = enforce_locks(settings, self.managed)  # the window obeys IT's locks
        self.history_window: Any = None
        self._temp_dir: Path | None = None
        self._down = False
        if demo_server is not None and queue_path is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="maxupload-demo-"))
            queue_path = self._temp_dir / "queue.sqlite3"
            cache_dir = self._temp_dir / "cache"
        paths = app_paths()
        self.cache_dir = cache_dir or paths.cache

        self.io_pool = TaskPool(2)
        self.image_pool = TaskPool(2, background=True)
        # Thumbnails have a lane of their own: most come from the EXIF thumbnail in a few ms,
        # and on the image pool they waited for the size estimates and checks running there.
        self.thumb_pool = TaskPool(1, background=True)
        self.net_pool = TaskPool(2)
        self.bridge = EngineBridge()
        self.connection = Connection(settings, key_store)
        self.store = QueueStore(queue_path)
        self.engine = UploadEngine(
            self.store,
            self._engine_client,
            workers=workers or settings.concurrency,
            listener=EngineListenerAdapter(self.bridge),
            cache_dir=self.cache_dir / "prepared",
            copies=PreparedCopies(self.cache_dir / "copies"),
        )
        self.connection.set_gate(self.engine.gate)
        self.uploads = UploadController(
            UploadService(
                self.store,
                self.engine,
                history=self.engine.history,
                read_facts=partial(processes.call, read_facts),  # decoded off the window's GIL
            ),
            self.io_pool,
            self.image_pool,
            self.connection.client,
        )
        icon_file = _icon_path()
        self.icon = QIcon(str(icon_file)) if icon_file else QIcon()
        self.notifier = Notifier(self.icon)
        self.settings_dialog: Any = None
        deps = WindowDeps(
            io_pool=self.io_pool,
            image_pool=self.image_pool,
            net_pool=self.net_pool,
            thumb_pool=self.thumb_pool,
            bridge=self.bridge,
            engine=self.engine,
            copies=self.engine.copies,
            stored=self.engine.stored,
            uploads=self.uploads,
            client=self.connection.client,
            connection=self.connection.current,
            notifier=self.notifier,
            cache_dir=self.cache_dir,
            open_settings=self.open_settings,
            open_history=self.open_history,
            default_preset=settings.preset,
            demo_text=DEMO_TEXT if demo_server is not None else "",
            demo_hint=DEMO_HINT if demo_server is not None else "",
            connection_text=self.connection.describe,
            confirm_idle_seconds=lambda: self.connection.settings.confirm_idle_seconds,
        )
        self.window = MainWindow(deps)
        self.window.setWindowIcon(self.icon)
        if demo_server is not None:
            self.window.target.search.setPlaceholderText("Name, MRN or date of birth (try Rivera)")
        self.window.setWindowTitle(
            f"{APP_NAME} {__version__}" + (" (demo mode)" if demo_server is not None else "")
        )
        deps.on_closed.append(self.shutdown)
        # Codecs, the label reader and the settings dialog load after the first paint.
        self.warm_up = WarmUp(start_up_steps(self.window.table), self.window)

    def _engine_client(self, target: Target) -> Any:
        return self.connection.worker_client(target)

    def start(self) -> None:
        """Show the window and restore the queue (recovery runs on the pool)."""
        # Workers decoding photos hold the GIL between their C calls; asking them to hand it
        # over every 1 ms instead of 5 ms keeps a paint (many short Python calls) from waiting
        # behind them. Measured with tests/benchmarks/bench_gui.py.
        sys.setswitchinterval(0.001)
        keep_large_blocks_on_mmap()  # a new photo buffer never holds the GIL for 30-40 ms
        yield_to_window()  # background workers leave the CPU to the window's thread
        processes.start()  # size estimates and photo checks decode in worker processes
        self.window.show()
        self.warm_up.start()
        engine, store = self.engine, self.store

        def restore() -> list[Any]:
            engine.recover()
            return list(store.items())

        def failed(exc: BaseException) -> None:
            from maxupload.core.outcomes import describe_error

            outcome = describe_error(exc)
            self.window.show_notice(f"{outcome.message} {outcome.next_step}")

        self.io_pool.submit(restore, self.window.restore_items, failed)
        if self.engine.history.problem:  # uploads work; the audit trail does not
            self.window.show_notice(self.engine.history.problem + " Uploads are not affected.")
        if self.connection.settings.damaged:
            from maxupload.core.config.settings import SettingsDamaged, require_intact

            try:
                require_intact(self.connection.settings)
            except SettingsDamaged as exc:  # never a silent fall back to production
                self.window.show_notice(
                    f"{exc} Open Settings (Ctrl+,) and check the server, organization and key "
                    "before sending."
                )
        elif not self.connection.settings.org_id:
            self.window.show_notice(
                "MaxUpload is not connected to a clinic yet: open Settings (Ctrl+,) and enter "
                "the organization id and API key."
            )

    def open_settings(self) -> None:
        from maxupload.gui.settings_dialog import SettingsDialog

        if self.settings_dialog is not None and self.settings_dialog.isVisible():
            self.settings_dialog.raise_()
            return
        dialog = SettingsDialog(
            self.connection.settings,
            self.key_store,
            self.io_pool,
            demo=self.demo_server is not None,
            persist=self.persist_settings,
            managed=self.managed,
            parent=self.window,
        )
        dialog.saved.connect(self._settings_saved)
        self.settings_dialog = dialog
        dialog.open()

    def open_history(self) -> None:
        from maxupload.core.history.store import history_path_for
        from maxupload.gui.history_window import HistoryWindow

        if self.history_window is None:
            self.history_window = HistoryWindow(
                history_path_for(self.store.path),
                self.io_pool,
                self.connection.make_client,
                parent=self.window,
            )
        self.history_window.show()
        self.history_window.raise_()
        self.history_window.search()

    def _settings_saved(self, result: Any) -> None:
        from maxupload.gui.window_settings import apply_saved_settings

        apply_saved_settings(self.window, self.connection, result)

    def shutdown(self) -> None:
        """Stop everything this context started; safe to call twice."""
        if self._down:
            return
        self._down = True
        self.bridge.stop()
        self.window._closed = True
        try:
            self.engine.shutdown(wait=True, cancel_in_flight=True)
        finally:
            self.io_pool.shutdown()
            self.image_pool.shutdown()
            self.thumb_pool.shutdown()
            self.net_pool.shutdown()
            processes.stop()  # after the pools: their running jobs had their answers
            self.connection.close()
            with contextlib.suppress(Exception):
                self.store.close()
            self.notifier.close()
            if self.settings_dialog is not None:
                self.settings_dialog.close()
            if self.history_window is not None:
                self.history_window.close()
            if self.demo_server is not None:
                self.demo_server.stop()
            if self._temp_dir is not None:
                shutil.rmtree(self._temp_dir, ignore_errors=True)
            gc.unfreeze()  # the objects the warm-up set aside can be collected again


def build_demo(**config: Any) -> AppContext:
    """A context over a fresh embedded sandbox with its demo clinic and an in-memory key."""
    from maxupload.sandbox import SandboxConfig, SandboxServer

    server = SandboxServer(SandboxConfig(**config)).start()
    try:
        demo = server.demo
        settings = Settings(base_url=server.base_url, org_id=demo.org_id)
        keys = MemoryKeyStore()
        keys.set(server.base_url, demo.org_id, demo.api_key)
        return AppContext(
            settings=settings,
            key_store=keys,
            demo_server=server,
            persist_settings=False,
            managed=ManagedSettings(),  # the demo clinic is not the one IT manages
        )
    except BaseException:
        server.stop()
        raise


def _close_on_stop_signals(app: Any, window: Any) -> Callable[[], None]:
    """SIGTERM and SIGINT close the window through its normal path (queue kept, engine and
    demo sandbox shut down) instead of killing the process; returns the undo.

    A Python signal handler only runs when Python code runs, and the Qt event loop is C++:
    ``signal.set_wakeup_fd`` writes each signal to a socket whose ``QSocketNotifier`` wakes the
    loop, and the notifier's slot does the closing.
    """
    from PySide6.QtCore import QSocketNotifier

    receiver, sender = socket.socketpair()
    receiver.setblocking(False)
    sender.setblocking(False)
    old_handlers = {
        s: signal.signal(s, lambda _s, _f: None) for s in (signal.SIGTERM, signal.SIGINT)
    }
    old_wakeup = signal.set_wakeup_fd(sender.fileno(), warn_on_full_buffer=False)
    notifier = QSocketNotifier(receiver.fileno(), QSocketNotifier.Type.Read)

    def woken() -> None:
        numbers = b""
        with contextlib.suppress(OSError):
            numbers = receiver.recv(64)
        stops = [n for n in numbers if n in old_handlers]
        if not stops:
            return
        log.info("Stopping on signal %s", signal.Signals(stops[0]).name)
        window.close_without_asking()
        app.quit()

    notifier.activated.connect(woken)

    def undo() -> None:
        notifier.setEnabled(False)
        signal.set_wakeup_fd(old_wakeup)
        for number, handler in old_handlers.items():
            signal.signal(number, handler)
        receiver.close()
        sender.close()

    return undo


def _cannot_start(exc: MaxUploadError) -> int:
    """Say why MaxUpload stops (a damaged managed settings file), on screen and on stderr."""
    from PySide6.QtWidgets import QMessageBox

    print(f"maxupload: {exc}\n  Next: {exc.next_step}", file=sys.stderr)
    QMessageBox.critical(None, "MaxUpload cannot start", f"{exc}\n\n{exc.next_step}")
    return 2


def run_gui(sandbox: bool) -> int:
    """Open the window (demo mode with ``sandbox``); returns the exit code."""
    from PySide6.QtWidgets import QApplication

    from maxupload.core.system.logsetup import setup_logging

    with contextlib.suppress(OSError):
        setup_logging()
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName(APP_NAME)
    app.setApplicationVersion(__version__)
    app.setOrganizationName(APP_NAME)
    app.setDesktopFileName("maxupload")
    if sandbox:
        ctx = build_demo()
    else:
        from maxupload.core.config.secrets import SecretStore

        try:
            settings, managed = load_effective()
        except ManagedConfigError as exc:
            return _cannot_start(exc)
        ctx = AppContext(settings=settings, key_store=SecretStore(), managed=managed)
    app.setWindowIcon(ctx.icon)
    ctx.start()
    restore_signals = _close_on_stop_signals(app, ctx.window)
    log.info("%s %s window open%s", APP_NAME, __version__, " (demo mode)" if sandbox else "")
    try:
        code = app.exec()
    finally:
        ctx.shutdown()
        restore_signals()
    return int(code)
