"""UploadEngine: the scheduler that walks every queued photo through prepare, upload, verify.

A small pool of worker threads (default 2: the work is network I/O and Pillow, both of which
release the GIL) takes the oldest runnable item from the ``QueueStore`` and hands it to
:func:`maxupload.core.engine.steps.process_one` with typed ports
(:mod:`maxupload.core.engine.ports`). Each step is committed to the store before the next
begins and before anyone is told, so a crash leaves a row that says exactly how far the photo
got (the steps are described in :mod:`maxupload.core.engine.steps`). The user's actions
(cancel, retry, send again, remove) are in :mod:`maxupload.core.engine.actions`.

Only one engine sends from a queue file at a time (``RunLock``, an OS lock that dies with the
process); it recovers rows left mid-way by a crash when it starts.

Listener: ``item_changed(item)`` gets a full snapshot after every committed change: from worker
threads for the engine's steps, from the caller's thread for ``add``/``cancel``/``retry``/
``send_again``/``remove``/``recover``; snapshots carry ``revision`` so a consumer can drop a
stale one. ``item_progress(item_id, sent, total)`` comes from worker threads, unthrottled.
``batch_finished(counts)`` comes once each time the run goes idle (not while paused). Never call
``shutdown`` from a callback.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from maxupload.core.api.models import Target
from maxupload.core.api.ratelimit import RateGate
from maxupload.core.api.stored_copies import StoredCopies
from maxupload.core.engine.actions import UserActions
from maxupload.core.engine.ports import ClientFactory, EngineListener, Job, StepPorts
from maxupload.core.engine.steps import ClientPool, process_one
from maxupload.core.history.store import HistoryRecorder
from maxupload.core.intake import AcceptedFile, hash_file
from maxupload.core.queue.model import UPLOADED_STATES, ItemState, NewItem, QueueItem
from maxupload.core.queue.runlock import QueueBusy, RunLock
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.paths import app_paths
from maxupload.core.system.storage import StorageError
from maxupload.core.system.worker_priority import worker_started

if TYPE_CHECKING:
    from maxupload.core.imaging.prefetch import Prefetcher
    from maxupload.core.imaging.prepared_copies import PreparedCopies

log = logging.getLogger(__name__)

#: Seconds before each automatic retry of an item that stored nothing (network, 429).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (10.0, 60.0, 300.0)
#: Seconds before each new attempt to verify a stored copy.
DEFAULT_VERIFY_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0)


def default_cache_dir() -> Path:
    """Where the engine keeps the exact bytes of each photo it sends."""
    return app_paths().cache / "prepared"


def default_copies(cache_dir: Path | None = None) -> PreparedCopies:
    """The prepared copies beside the engine's cache (``copies``), for an engine made later."""
    from maxupload.core.imaging.prepared_copies import PreparedCopies

    return PreparedCopies((cache_dir or default_cache_dir()).with_name("copies"))


class UploadEngine(UserActions):
    """Runs the queue. See the module docstring for the steps and guarantees."""

    copies: PreparedCopies

    def __init__(
        self,
        store: QueueStore,
        client_factory: ClientFactory,
        *,
        workers: int = 2,
        listener: EngineListener | None = None,
        cache_dir: Path | None = None,
        gate: RateGate | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        verify_delays: Sequence[float] = DEFAULT_VERIFY_DELAYS,
        copies: PreparedCopies | None = None,
    ) -> None:
        self.store = store
        self.client_factory = client_factory
        self.workers = max(1, int(workers))
        self.listener = listener
        self.cache_dir = cache_dir or default_cache_dir()
        #: Prepared copies shared with the preview (a photo already shown is not decoded again)
        #: and made ahead of sending by the prefetcher.
        self.copies = copies if copies is not None else default_copies(self.cache_dir)
        self._prefetcher: Prefetcher | None = None
        #: Stored copies downloaded by verification, for the preview (downloaded once).
        self.stored = StoredCopies()
        #: The one rate limiter for every client of this engine; pass it to the factory's clients.
        self.gate = gate or RateGate()
        self.retry_delays = tuple(retry_delays)
        self.verify_delays = tuple(verify_delays)
        self._lock = RunLock(store.path.with_name(store.path.name + ".lock"), guard_folder=True)
        self._cv = threading.Condition()
        self._active: dict[int, Job] = {}
        self._threads: list[threading.Thread] = []
        self._paused = False
        self._stopping = False
        self._busy = False
        self._only: set[int] | None = None
        self._start_lock = threading.RLock()
        self._recovered = False
        self._shut_down = False
        self._storage_problem: StorageError | None = None
        self._stuck: set[int] = set()
        self._unsubscribe = store.subscribe(self._forward)
        #: The upload history beside the queue (and the opt-in clearing of verified originals).
        self.history = HistoryRecorder.attach(store)

    # --- listener plumbing ----------------------------------------------------------------

    def _forward(self, item: QueueItem) -> None:
        if self.listener is not None:
            try:
                self.listener.item_changed(item)
            except Exception:  # a listener's bug must not stop the queue
                log.exception("item_changed listener failed")

    def report_progress(self, item_id: int, sent: int, total: int) -> None:
        """Bytes of a photo sent so far, to the listener (from a worker thread)."""
        if self.listener is not None:
            try:
                self.listener.item_progress(item_id, sent, total)
            except Exception:
                log.exception("item_progress listener failed")

    # --- lifetime -------------------------------------------------------------------------

    def acquire(self) -> None:
        """Take the queue lock (QueueBusy when another MaxUpload is sending)."""
        if not self._lock.acquire():
            raise QueueBusy("Another MaxUpload window or command is sending photos right now.")

    def recover(self) -> list[QueueItem]:
        """After a crash: put interrupted items where they are safe; drop stray copies.

        Takes the queue lock (QueueBusy if another MaxUpload is sending). Runs once per engine:
        later calls (e.g. while workers run) return [] and touch nothing.
        """
        with self._start_lock:
            if self._recovered:
                return []
            self.acquire()
            changed = self.store.recover()
            self._sweep_cache()
            self._recovered = True
            return changed

    def start(self, only: Iterable[int] | None = None) -> None:
        """Recover, then run the queue on the worker pool (``only``: just these item ids).

        Safe to call again (from any thread) while running: ``only`` ids are added to the run,
        ``only=None`` widens it to the whole queue.
        """
        with self._start_lock:
            if self._shut_down:
                raise RuntimeError("this UploadEngine was shut down; create a new one")
            if self._storage_problem is not None:
                self.resume()  # the user starts again after freeing space (StorageError if not)
            with self._cv:
                if self._threads:
                    if only is not None and self._only is not None:
                        self._only.update(int(i) for i in only)
                    elif only is None:
                        self._only = None
                    self._cv.notify_all()
                    return
            self.recover()
            from maxupload.core.imaging.prefetch import Prefetcher

            with self._cv:
                self._only = None if only is None else {int(i) for i in only}
                self._prefetcher = Prefetcher(self.copies, self._waiting)
                for n in range(self.workers):
                    thread = threading.Thread(
                        target=self._worker, name=f"maxupload-upload-{n + 1}", daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()

    def shutdown(
        self,
        wait: bool = True,
        *,
        cancel_in_flight: bool = False,
        timeout: float | None = None,
    ) -> bool:
        """Stop taking new items; in-flight ones finish (or are interrupted safely).

        ``cancel_in_flight`` aborts running uploads: one not yet sent goes back to the queue;
        one whose request is complete cannot be taken back, and its answer is awaited.
        ``timeout`` bounds the wait: workers still waiting for an answer then are left to the
        process exit (they are daemon threads); their rows stay ``uploading`` and the next start
        turns them into "needs a decision", exactly as after a crash. Returns True when every
        worker stopped (the queue lock is released only then).
        """
        with self._cv:
            self._stopping = True
            self._shut_down = True
            if cancel_in_flight:
                for job in self._active.values():
                    job.cancel.set()
            self._cv.notify_all()
            threads = list(self._threads)
            prefetcher = self._prefetcher
        if prefetcher is not None:
            prefetcher.close(wait=wait)  # nothing new is prepared ahead
        if not wait:
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            # RuntimeError: a Ctrl+C cut its start() short; it finds the engine stopping and
            # ends without taking anything.
            with contextlib.suppress(RuntimeError):
                thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            return False
        with self._cv:
            self._threads = []
        self._lock.release()
        self._unsubscribe()
        self.history.close()
        return True

    def __enter__(self) -> UploadEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown(wait=True, cancel_in_flight=True)

    # --- user actions ---------------------------------------------------------------------

    def add(
        self,
        files: Sequence[AcceptedFile | str | os.PathLike[str]],
        target: Target,
        preset: str,
    ) -> list[QueueItem]:
        """Queue files (``AcceptedFile`` or ``Path``) for ``target`` with a size preset."""
        from maxupload.core.imaging.prepare import get_preset

        get_preset(preset)  # ValueError with a clear message for an unknown preset
        entries: list[NewItem] = []
        for entry in files:
            if isinstance(entry, (str, os.PathLike)):
                path = Path(entry)
                entries.append(NewItem(path, path.stat().st_size, hash_file(path)))
            else:
                entries.append(NewItem(Path(entry.path), int(entry.size), str(entry.sha256)))
        items = self.store.add(entries, target, preset)
        with self._cv:
            if self._only is not None:
                self._only.update(i.id for i in items)
            self._cv.notify_all()
        return items

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Start no new item; items already on their way finish."""
        with self._cv:
            self._paused = True

    def resume(self) -> None:
        """Go on after ``pause`` or a storage failure (StorageError if it persists)."""
        with self._cv:
            stuck = set(self._stuck)
        if stuck:
            self.store.recover(ids=stuck)  # items whose next step could not be saved
        with self._cv:
            self._stuck -= stuck
            self._storage_problem = None
            self._paused = False
            self._cv.notify_all()

    @property
    def storage_problem(self) -> StorageError | None:
        """Why the queue paused by itself (disk full, damaged queue file), until ``resume``."""
        return self._storage_problem

    def _pause_for_storage(self, exc: StorageError, item_id: int | None) -> None:
        """MaxUpload's own storage failed: pause (never retry in a loop), keep the item as it
        is on file, and say so once."""
        with self._cv:
            first = self._storage_problem is None
            self._storage_problem = exc
            self._paused = True
            if item_id is not None:
                self._stuck.add(item_id)
            self._cv.notify_all()
        if not first:
            return
        log.error("queue paused: %s", exc)
        notify = getattr(self.listener, "storage_failed", None)
        if notify is not None:
            try:
                notify(exc)
            except Exception:
                log.exception("storage_failed listener failed")

    def rate_limit_pause_remaining(self) -> float:
        """Seconds until the server's rate-limit pause ends (for a countdown)."""
        return self.gate.pause_remaining()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is running, runnable or scheduled (in ``only`` when set)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while not self._idle_locked():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cv.wait(0.5 if remaining is None else min(remaining, 0.5))
        return True

    # --- workers --------------------------------------------------------------------------

    def is_stopping(self) -> bool:
        """True once ``shutdown`` began (an interrupted photo then stays queued)."""
        return self._stopping

    def run_ids(self) -> set[int] | None:
        """The item ids of this run (a copy), or None for the whole queue."""
        with self._cv:
            return None if self._only is None else set(self._only)

    @contextlib.contextmanager
    def claim(self, item_id: int) -> Iterator[Job | None]:
        """Keep workers off an idle item while this thread changes it.

        Yields None when the item is claimed, or the job that already has it (a worker's, or
        another claim's with phase ``held``); nothing is claimed then.
        """
        with self._cv:
            running = self._active.get(item_id)
            if running is None:
                self._active[item_id] = Job(item_id, phase="held")
        if running is not None:
            yield running
            return
        try:
            yield None
        finally:
            with self._cv:
                self._active.pop(item_id, None)
                self._cv.notify_all()

    def _wake(self, item_id: int) -> None:
        with self._cv:
            if self._only is not None:
                self._only.add(item_id)
            self._cv.notify_all()

    def _idle_locked(self) -> bool:
        if self._active:
            return False
        if self._paused:
            return True
        if self.store.next_runnable(time.time(), only=self._only) is not None:
            return False
        return self.store.next_wakeup(only=self._only) is None

    def _take(self) -> tuple[QueueItem, Job] | None:
        """The next item for this worker, or None when the engine stops."""
        while True:
            finished: dict[str, int] | None = None
            with self._cv:
                while finished is None:
                    if self._stopping:
                        return None
                    if not self._paused:
                        item = self.store.next_runnable(
                            time.time(), exclude=self._active, only=self._only
                        )
                        if item is not None:
                            job = Job(item.id)
                            if item.state in UPLOADED_STATES:
                                job.phase = "verify"
                            self._active[item.id] = job
                            self._busy = True
                            return item, job
                    if self._busy and not self._paused and self._idle_locked():
                        self._busy = False
                        finished = self.store.counts(ids=self._only)
                        self._cv.notify_all()
                    else:
                        self._cv.wait(self._sleep_for())
            if self.listener is not None:
                try:
                    self.listener.batch_finished(finished)
                except Exception:
                    log.exception("batch_finished listener failed")

    def _waiting(self) -> list[tuple[int, Path, str]]:
        """Queued photos no worker has yet, next first: what the prefetcher may prepare."""
        with self._cv:
            if self._stopping or self._paused:
                return []
            return [
                (i.id, Path(i.source_path), i.preset)
                for i in self.store.items(states=[ItemState.QUEUED])
                if i.id not in self._active and (self._only is None or i.id in self._only)
            ]

    def _sleep_for(self) -> float:
        try:
            wake = self.store.next_wakeup(only=self._only)
        except StorageError:
            return 1.0
        if wake is None:
            return 1.0
        return min(max(wake - time.time(), 0.01), 1.0)

    def _worker(self) -> None:
        worker_started()  # in the window, preparing photos yields the CPU to its thread
        clients = ClientPool(self.client_factory)
        try:
            while True:
                try:
                    taken = self._take()
                except StorageError as exc:
                    self._pause_for_storage(exc, None)
                    continue
                if taken is None:
                    return
                item, job = taken
                if self._prefetcher is not None:
                    self._prefetcher.kick()  # the next photos are prepared while this one goes
                try:
                    process_one(item, job, self._ports(clients))
                except StorageError as exc:
                    self._pause_for_storage(exc, item.id)
                except Exception:  # never lose the worker; the row says what happened
                    log.exception("queue item %s: unexpected failure", item.id)
                finally:
                    with self._cv:
                        self._active.pop(item.id, None)
                        self._cv.notify_all()
        finally:
            clients.close()

    def _ports(self, clients: ClientPool) -> StepPorts:
        """The ports of one step: this engine's store, copies, gate and settings as they are
        now, the worker's clients, and the engine itself as run control."""
        return StepPorts(
            store=self.store,
            copies=self.copies,
            stored=self.stored,
            gate=self.gate,
            clients=clients,
            run=self,
            cache_dir=self.cache_dir,
            retry_delays=self.retry_delays,
            verify_delays=self.verify_delays,
        )

    # --- cache ----------------------------------------------------------------------------

    def _sweep_cache(self) -> None:
        """Delete prepared copies no queue item refers to, and half-written ones (a crash)."""
        if not self.cache_dir.is_dir():
            return
        keep = {
            item.prepared_path
            for item in self.store.items(include_hidden=True)
            if item.prepared_path
        }
        for path in self.cache_dir.iterdir():
            if str(path) not in keep and path.name.lstrip(".").startswith("item-"):
                with contextlib.suppress(OSError):
                    path.unlink()
