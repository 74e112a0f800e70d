"""Background workers run at a lower priority than the window's thread (Linux: read back with
``os.getpriority`` on each thread id), and only in the window, never in the command line."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from maxupload.core.checks.copy_facts import map_parallel
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.imaging.prefetch import Prefetcher
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.worker_priority import (
    NICE_STEP,
    thread_nice,
    worker_started,
    yield_to_window,
    yielding,
)
from tests.plugins.images import photo, write_jpeg

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="per-thread nice values are Linux's"
)


def lowered(base: int) -> int:
    return min(19, base + NICE_STEP)


@pytest.fixture
def window_mode() -> Iterator[None]:
    """As in the window: workers yield (as it was again afterwards)."""
    was = yielding()
    yield_to_window()
    try:
        yield
    finally:
        yield_to_window(was)


@pytest.fixture
def command_line_mode() -> Iterator[None]:
    """As in the command line: no window, workers keep their priority."""
    was = yielding()
    yield_to_window(False)
    try:
        yield
    finally:
        yield_to_window(was)


def on_new_thread(fn: Callable[[], object]) -> object:
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join()
    return out[0]


def nice_of(thread: threading.Thread) -> int:
    assert thread.native_id is not None
    return os.getpriority(os.PRIO_PROCESS, thread.native_id)


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_worker_lowers_itself_once_and_the_calling_thread_keeps_its_priority(
    window_mode: None,
) -> None:
    base = thread_nice()
    assert base is not None

    def twice() -> tuple[bool, int | None, bool, int | None]:
        first = worker_started()
        after_first = thread_nice()
        return first, after_first, worker_started(), thread_nice()

    assert on_new_thread(twice) == (True, lowered(base), True, lowered(base))
    assert thread_nice() == base  # the calling (window's) thread is untouched


def test_without_the_window_workers_keep_their_priority(command_line_mode: None) -> None:
    base = thread_nice()
    assert on_new_thread(lambda: (worker_started(), thread_nice())) == (False, base)


def test_the_checks_pool_runs_lowered_in_the_window(window_mode: None) -> None:
    base = thread_nice()
    assert base is not None
    nices = map_parallel(lambda _i: thread_nice(), list(range(6)), workers=2)
    assert nices == [lowered(base)] * 6


def test_preparing_ahead_runs_lowered_in_the_window(window_mode: None, tmp_path: Path) -> None:
    base = thread_nice()
    assert base is not None
    source = write_jpeg(tmp_path / "a.jpg", photo(1200, 900, seed=3))
    copies = PreparedCopies(tmp_path / "copies")
    ahead = Prefetcher(copies, lambda: [(1, source, "standard")], depth=1)
    try:
        ahead.kick()
        wait_for(lambda: copies.size(source, "standard") is not None)
        workers = [t for t in threading.enumerate() if t.name.startswith("maxupload-prepare-")]
        assert workers and all(nice_of(t) == lowered(base) for t in workers)
    finally:
        ahead.close()


def test_the_upload_engines_workers_run_lowered_in_the_window(
    window_mode: None, tmp_path: Path
) -> None:
    base = thread_nice()
    assert base is not None
    store = QueueStore(tmp_path / "queue.sqlite3")
    engine = UploadEngine(store, lambda _t: None, workers=2, cache_dir=tmp_path / "cache")
    try:
        engine.start()  # nothing queued: the workers wait for photos, lowered
        workers = [t for t in threading.enumerate() if t.name.startswith("maxupload-upload-")]
        assert len(workers) == 2
        wait_for(lambda: all(nice_of(t) == lowered(base) for t in workers))
    finally:
        assert engine.shutdown()
        store.close()
