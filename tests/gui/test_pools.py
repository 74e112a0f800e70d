"""Separate pools: slow network work never delays the thumbnails of a new drop, and the jobs of
removed photos are cancelled."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from maxupload.core.system.worker_priority import NICE_STEP, thread_nice
from maxupload.sandbox import SandboxServer
from tests.gui.conftest import (
    TIMEOUT_MS,
    add_photos,
    close_app,
    make_photos,
    ready_to_upload,
    states,
)


def held_back(server: SandboxServer) -> int:
    """Requests the sandbox is holding back right now (the injected latency)."""
    log = server.request_log()
    return sum(1 for r in log if r.get("fault") == "latency" and r.get("status") is None)


def test_slow_stored_copies_do_not_hold_up_a_new_drop(
    qtbot: Any, make_app: Any, make_sandbox: Any, tmp_path: Path
) -> None:
    server: SandboxServer = make_sandbox()
    first = make_app(server=server)
    ready_to_upload(qtbot, first.window, server, tmp_path / "first", count=2)
    first.window.upload()
    qtbot.waitUntil(lambda: states(first.window) == ["verified"] * 2, timeout=60_000)
    queue = first.store.path
    close_app(first)
    # The next day: the photos verified yesterday are listed again, their stored copies are
    # no longer in memory, so looking at them downloads them.
    ctx = make_app(server=server, queue_path=queue)
    window = ctx.window
    qtbot.waitUntil(lambda: states(window) == ["verified"] * 2, timeout=TIMEOUT_MS)

    # Every signed link and stored-copy download now takes 8 s: two stored copies are asked for.
    server.set_faults(latency_ms=8000, paths=("*/url", "/_s3/*"), methods=("GET",))
    try:
        for n, row in enumerate((1, 0), start=1):
            window.select_row(row)
            qtbot.waitUntil(lambda n=n: held_back(server) >= n, timeout=TIMEOUT_MS)

        # A new drop is listed and gets its thumbnails while the links are still on their way.
        photos = add_photos(qtbot, window, tmp_path / "second", 3)
        qtbot.waitUntil(
            lambda: all(window.model.thumbnail_for(p) is not None for p in photos),
            timeout=TIMEOUT_MS,
        )
        assert held_back(server) == 2, "the thumbnails waited for the network"
        assert not window.preview.stored.has_image()
    finally:
        server.set_faults(latency_ms=0, paths=None, methods=None)


def test_removing_photos_cancels_their_queued_work(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    ctx = make_app()
    window = ctx.window
    pool = ctx.image_pool
    # Rows are not painted yet, so no thumbnail has been asked for.
    window.table.setUpdatesEnabled(False)
    photos = make_photos(tmp_path / "cam", 8)
    with qtbot.waitSignal(window.intake_done, timeout=TIMEOUT_MS):
        window.add_paths(photos)
    qtbot.waitUntil(lambda: pool.pending() == 0, timeout=TIMEOUT_MS)

    # Both image workers are busy with something else; the list is painted and asks for its
    # thumbnails and size estimates, which queue up.
    release = threading.Event()
    started = threading.Semaphore(0)

    def busy() -> None:
        started.release()
        release.wait(TIMEOUT_MS / 1000)

    for _ in range(2):
        pool.submit(busy)
    assert started.acquire(timeout=10) and started.acquire(timeout=10)
    window.table.setUpdatesEnabled(True)
    window.table.viewport().repaint()
    qtbot.waitUntil(lambda: len(window.thumbnails.jobs.pending()) >= 3, timeout=TIMEOUT_MS)
    assert pool.pending() > 2

    # Select every photo and press Delete: their queued jobs go too.
    window.activateWindow()
    window.table.setFocus()
    qtbot.keyClick(window.table, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(window.table, Qt.Key.Key_Delete)
    assert window.model.rowCount() == 0
    assert window.thumbnails.jobs.pending() == set()
    assert pool.pending() == 2  # only the two busy jobs are left
    release.set()
    qtbot.waitUntil(lambda: pool.pending() == 0, timeout=TIMEOUT_MS)
    assert window.thumbnails.failed == {}


def test_thumbnails_never_wait_behind_decodes_on_the_image_pool(
    qtbot: Any, make_app: Any, tmp_path: Path
) -> None:
    """Size estimates and photo checks keep both image workers busy for a while after a drop;
    the thumbnails of the rows on screen have a lane of their own."""
    ctx = make_app()
    window = ctx.window
    release = threading.Event()
    held: list[int] = []

    def hold_the_image_pool(_ok: int, _bad: int) -> None:
        for _ in range(2):  # both workers: as if each were decoding a large photo
            held.append(ctx.image_pool.submit(lambda: release.wait(60), priority=10))

    window.intake_done.connect(hold_the_image_pool)
    try:
        photos = add_photos(qtbot, window, tmp_path / "camera", 4)
        assert len(held) == 2
        qtbot.waitUntil(
            lambda: all(window.model.thumbnail_for(p) is not None for p in photos),
            timeout=TIMEOUT_MS,
        )
        assert not release.is_set()  # the image pool was still held
    finally:
        release.set()
    qtbot.waitUntil(lambda: ctx.image_pool.pending() == 0, timeout=TIMEOUT_MS)


def test_image_workers_yield_the_cpu_to_the_window(qtbot: Any, make_app: Any) -> None:
    """Decoding runs at a lower priority than the GUI thread; file and network work does not."""
    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are Linux's")
    ctx = make_app()
    base = thread_nice()
    assert base is not None
    seen: dict[str, int] = {}
    for name, pool in (("image", ctx.image_pool), ("thumb", ctx.thumb_pool), ("io", ctx.io_pool)):
        pool.submit(thread_nice, lambda nice, name=name: seen.__setitem__(name, nice))
    qtbot.waitUntil(lambda: len(seen) == 3, timeout=TIMEOUT_MS)
    assert seen == {
        "image": min(19, base + NICE_STEP),
        "thumb": min(19, base + NICE_STEP),
        "io": base,
    }


def test_image_workers_keep_one_priority_job_after_job(qtbot: Any, make_app: Any) -> None:
    """Every job on a pool's thread finds it at the window's nice + NICE_STEP: not lowered a
    step further by each job (which took Qt's pool threads to 19, below the worker processes
    whose work the window's thread then waited for behind Python's lock)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("per-thread nice values are Linux's")
    ctx = make_app()
    base = thread_nice()
    assert base is not None
    seen: list[int] = []
    for _ in range(6):
        ctx.thumb_pool.submit(thread_nice, seen.append)  # one thread: every job on it
    qtbot.waitUntil(lambda: len(seen) == 6, timeout=TIMEOUT_MS)
    assert seen == [min(19, base + NICE_STEP)] * 6
