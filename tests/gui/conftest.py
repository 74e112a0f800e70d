"""GUI test fixtures: the real window and engine over a real sandbox, offscreen.

``make_app(key=..., queue_path=...)`` builds the same objects ``maxupload`` builds (through
``AppContext``) with the sandbox's URL and organization and a key held in memory; every window
is closed and every thread joined after the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent

from maxupload.app import AppContext, MemoryKeyStore
from maxupload.core.config.settings import Settings
from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg

TIMEOUT_MS = 30_000


@pytest.fixture
def make_app(qtbot: Any, sandbox: SandboxServer) -> Iterator[Callable[..., AppContext]]:
    built: list[AppContext] = []

    def factory(
        *,
        server: SandboxServer | None = None,
        key: str | None = None,
        queue_path: Path | None = None,
        key_store: Any = None,
        start: bool = True,
    ) -> AppContext:
        srv = server or sandbox
        settings = Settings(base_url=srv.base_url, org_id=srv.demo.org_id)
        if key_store is None:
            key_store = MemoryKeyStore()
            key_store.set(srv.base_url, srv.demo.org_id, key or srv.demo.api_key)
        ctx = AppContext(
            settings=settings,
            key_store=key_store,
            persist_settings=False,
            queue_path=queue_path,
            workers=2,
        )
        built.append(ctx)
        if start:
            ctx.start()
            qtbot.waitExposed(ctx.window)
        return ctx

    yield factory
    for ctx in built:
        close_app(ctx)


@pytest.fixture(autouse=True)
def _no_windows_left(qapp: Any) -> Iterator[None]:
    """A GUI test must close every window it opened."""
    yield
    qapp.processEvents()
    left = [w for w in qapp.topLevelWidgets() if w.isVisible()]
    for w in left:
        w.close()
    names = [(type(w).__name__, getattr(w, "_closed", None)) for w in left]
    assert not left, f"test left windows open: {names}"


def close_app(ctx: AppContext) -> None:
    """Close the window without the quit question, then stop everything behind it (once)."""
    if getattr(ctx, "_closed_by_test", False):
        return
    ctx._closed_by_test = True  # type: ignore[attr-defined]
    ctx.window._force_close = True
    ctx.window.close()
    ctx.shutdown()
    ctx.window.deleteLater()


def mime_for(paths: list[Path]) -> QMimeData:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    return mime


def drop(window: Any, paths: list[Path]) -> None:
    """Drag ``paths`` over the drop zone and drop them, through its real event handlers."""
    zone = window.drop_zone
    mime = mime_for(paths)
    pos = QPointF(zone.width() / 2, zone.height() / 2)
    enter = QDragEnterEvent(
        pos.toPoint(),
        Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    zone.dragEnterEvent(enter)
    assert enter.isAccepted()
    event = QDropEvent(
        pos,
        Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    zone.dropEvent(event)
    assert event.isAccepted()
    assert event.dropAction() == Qt.DropAction.CopyAction


def choose_note(qtbot: Any, window: Any, note_id: str, search: str = "Rivera") -> None:
    """Search the patient, pick ``note_id`` from their notes and wait for the provider."""
    target = window.target
    target.search.setText(search)
    target.run_search()
    qtbot.waitUntil(lambda: target.patients.count() > 0, timeout=TIMEOUT_MS)
    target.patients.setCurrentRow(0)

    def note_listed() -> bool:
        return any(
            target.notes.item(i).data(Qt.ItemDataRole.UserRole + 10).id == note_id
            for i in range(target.notes.count())
        )

    qtbot.waitUntil(note_listed, timeout=TIMEOUT_MS)
    for i in range(target.notes.count()):
        if target.notes.item(i).data(Qt.ItemDataRole.UserRole + 10).id == note_id:
            target.notes.setCurrentRow(i)
    qtbot.waitUntil(lambda: window.banner.note is not None, timeout=TIMEOUT_MS)
    assert window.banner.note.id == note_id


def confirm_patient(qtbot: Any, window: Any, note_id: str) -> None:
    choose_note(qtbot, window, note_id)
    qtbot.waitUntil(lambda: window.target.current_provider() is not None, timeout=TIMEOUT_MS)
    assert not window.banner.is_confirmed
    window.banner.confirm_box.click()
    assert window.banner.is_confirmed


def make_photos(folder: Path, count: int, size: tuple[int, int] = (640, 480)) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_jpeg(folder / f"IMG_{i:04d}.JPG", photo(*size, seed=i + 1), orientation=6)
        for i in range(count)
    ]


def add_photos(
    qtbot: Any, window: Any, folder: Path, count: int = 1, size: tuple[int, int] = (640, 480)
) -> list[Path]:
    """Drop ``count`` new photos made in ``folder`` and wait until the window has listed them."""
    photos = make_photos(folder, count, size)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        drop(window, photos)
    return photos


def ready_to_upload(
    qtbot: Any, window: Any, server: SandboxServer, folder: Path, count: int = 1
) -> list[Path]:
    """Photos listed and the patient of the server's open note confirmed: Upload is next."""
    photos = add_photos(qtbot, window, folder, count)
    confirm_patient(qtbot, window, server.demo.open_note_id)
    return photos


def states(window: Any) -> list[str]:
    return [r.state for r in window.model.rows()]


def upload_requests(server: SandboxServer) -> list[dict[str, Any]]:
    return [
        r for r in server.request_log() if r["method"] == "POST" and r["path"].endswith("/images")
    ]
