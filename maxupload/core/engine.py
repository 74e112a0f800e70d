"""UploadEngine: walks every queued photo through prepare, upload and verification.

A small pool of worker threads (default 2: the work is network I/O and Pillow, both of which
release the GIL) takes the oldest runnable item from the ``QueueStore``. Each step is committed
to the store before the next begins and before anyone is told, so a crash leaves a row that says
exactly how far the photo got (see the state machine in ``maxupload.core.queue_store``):

1. prepare: decode, orient, strip metadata, resize and encode; the prepared copy is written to
   the cache folder and its sha256 recorded, then the item is ``ready``;
2. the duplicate guard (photo and prepared copy) and ``uploading`` are committed in one
   transaction, so two copies of one photo are never both on their way;
3. the request is sent; the answer's status (``pending_upload``/``synced``/``archived``,
   unknown values kept raw, shown as not confirmed) and image id are committed;
4. verification: download the stored copy through a signed URL and compare hashes; then
   ``verified`` and the prepared copy is deleted.

Only one engine sends from a queue file at a time (``RunLock``, an OS lock that dies with the
process); it recovers rows left mid-way by a crash when it starts.

Listener: ``item_changed(item)`` gets a full snapshot after every committed change: from worker
threads for the engine's steps, from the caller's thread for ``add``/``cancel``/``retry``/
``send_again``/``remove``/``recover``; snapshots carry ``revision`` so a consumer can drop a
stale one. ``item_progress(item_id, sent, total)`` comes from worker threads, unthrottled.
``batch_finished(counts)`` comes once each time the run goes idle (not while paused). Never call
``shutdown`` from a callback. Failures are classified in ``maxupload.core.outcomes``: only
what certainly stored nothing is retried by itself.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from maxupload.core.errors import (
    AuthError,
    Cancelled,
    MaxUploadError,
    NoteLocked,
    NotFound,
    RateLimited,
    ScopeError,
)
from maxupload.core.filenames import shown
from maxupload.core.history import HistoryRecorder
from maxupload.core.intake import hash_file
from maxupload.core.models import Target, UploadedImage
from maxupload.core.outcomes import Outcome, Phase, classify, gave_up_step
from maxupload.core.paths import app_paths, write_private
from maxupload.core.queue_store import (
    ACTIVE_STATES,
    UPLOADED_STATES,
    InvalidTransition,
    ItemState,
    NewItem,
    QueueItem,
    QueueStore,
)
from maxupload.core.ratelimit import RATE_LIMIT_RESENDS, RateGate, rate_limited_wait
from maxupload.core.runlock import QueueBusy, RunLock
from maxupload.core.storage import FULL_ERRNOS, StorageError, storage_error
from maxupload.core.stored_copies import StoredCopies
from maxupload.core.verify import VerifyClient, verify_stored_copy

if TYPE_CHECKING:
    from maxupload.core.prefetch import Prefetcher
    from maxupload.core.prepared_copies import PreparedCopies

log = logging.getLogger(__name__)

#: Seconds before each automatic retry of an item that stored nothing (network, 429).
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (10.0, 60.0, 300.0)
#: Seconds before each new attempt to verify a stored copy.
DEFAULT_VERIFY_DELAYS: tuple[float, ...] = (5.0, 30.0, 120.0)

_MIME_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}


class EngineListener(Protocol):
    """What the engine reports. Called from worker threads, after the change is committed.

    A listener may also have ``storage_failed(exc)``: called once when MaxUpload's own storage
    fails (disk full, damaged queue file) and the queue pauses; ``start`` or ``resume`` go on.
    """

    def item_changed(self, item: QueueItem) -> None: ...

    def item_progress(self, item_id: int, sent: int, total: int) -> None: ...

    def batch_finished(self, counts: dict[str, int]) -> None: ...


class DuplicateNotConfirmed(MaxUploadError):
    """``send_again`` needs an explicit confirmation that a second copy is wanted."""

    default_next_step = (
        "Check the note in the EHR first; then confirm 'Send again' "
        "(maxupload queue send-again ID --yes)."
    )


class UploadClient(VerifyClient, Protocol):
    """What the engine needs of an API client: send a photo, verify it, close."""

    def upload_image(
        self,
        note_id: str,
        provider_id: str,
        data: bytes,
        file_name: str,
        mime_type: str,
        *,
        on_progress: Callable[[int, int], None] | None = None,
        cancel: threading.Event | None = None,
        resend_when_rate_limited: bool = True,
    ) -> UploadedImage: ...

    def close(self) -> None: ...


#: Builds the client for one target's server and organization (one per worker and target).
ClientFactory = Callable[[Target], UploadClient]


@dataclass
class _Job:
    item_id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    user_cancelled: bool = False
    phase: Literal["prepare", "upload", "verify", "held"] = "prepare"  # held: by a user action


class UploadEngine:
    """Runs the queue. See the module docstring for the steps and guarantees."""

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
        self.cache_dir = cache_dir or (app_paths().cache / "prepared")
        #: Prepared copies shared with the preview (a photo already shown is not decoded again)
        #: and made ahead of sending by the prefetcher.
        if copies is None:
            from maxupload.core.prepared_copies import PreparedCopies

            copies = PreparedCopies(self.cache_dir.with_name("copies"))
        self.copies = copies
        self._prefetcher: Prefetcher | None = None
        #: Stored copies downloaded by verification, for the preview (downloaded once).
        self.stored = StoredCopies()
        #: The one rate limiter for every client of this engine; pass it to the factory's clients.
        self.gate = gate or RateGate()
        self.retry_delays = tuple(retry_delays)
        self.verify_delays = tuple(verify_delays)
        self._lock = RunLock(store.path.with_name(store.path.name + ".lock"), guard_folder=True)
        self._cv = threading.Condition()
        self._active: dict[int, _Job] = {}
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

    def _progress(self, item_id: int, sent: int, total: int) -> None:
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
            from maxupload.core.prefetch import Prefetcher

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
        files: Sequence[Any],
        target: Target,
        preset: str,
    ) -> list[QueueItem]:
        """Queue files (``AcceptedFile`` or ``Path``) for ``target`` with a size preset."""
        from maxupload.core.imaging import get_preset

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

    def cancel(self, item_id: int) -> bool:
        """Cancel an item that has not reached the server. An upload in flight is aborted; if
        its request had already gone out, the item waits for a decision instead."""
        with self._claimed(item_id) as running:
            if running is None:
                return self._cancel_idle(item_id)
            if running.phase in ("verify", "held"):
                return False  # it has reached the server, or another action is changing it
            running.user_cancelled = True
            running.cancel.set()
            return True

    def _cancel_idle(self, item_id: int) -> bool:
        """Cancel an item no worker has (the caller holds the claim)."""
        try:
            self.store.update(
                item_id,
                ItemState.CANCELLED,
                # Not NEEDS_DECISION: a copy may be stored, so the guard must keep counting it
                # (use remove() to hide it from the list).
                expect={ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER},
                message="cancelled by the user",
                error_kind="cancelled",
                error_code="cancelled",
                error_message="Cancelled by the user.",
                next_step=f"Choose 'Retry' to send it after all (maxupload queue retry {item_id}).",
                next_attempt_at=None,
            )
        except InvalidTransition:
            return False
        self._drop_copy(self.store.get(item_id))
        return True

    def retry(self, item_id: int) -> QueueItem:
        """Queue again an item that stored nothing (retry later, failed, cancelled), or check
        again the stored copy of one that reached the server but could not be verified."""
        current = self.store.get(item_id)
        if current.state in UPLOADED_STATES:
            item = self.store.update(
                item_id,
                expect={current.state},
                message="checking the stored copy again, at the user's request",
                **_CLEAR_ERROR,
                verify_attempts=0,
            )
            self._wake(item_id)
            return item
        item = self.store.update(
            item_id,
            ItemState.QUEUED,
            expect={ItemState.RETRY_LATER, ItemState.FAILED, ItemState.CANCELLED},
            message="queued again by the user",
            **_CLEAR_ERROR,
            retry_count=0,
            hidden=False,  # a photo on its way is never hidden from the list
        )
        self._wake(item_id)
        return item

    def send_again(self, item_id: int, *, confirm_duplicate: bool = False) -> QueueItem:
        """Send an item that waits for a decision, knowing a copy may already be stored.

        Without ``confirm_duplicate=True`` this raises DuplicateNotConfirmed.
        """
        item = self.store.get(item_id)
        if item.state != ItemState.NEEDS_DECISION:
            raise InvalidTransition(
                f"Queue item {item_id} is {item.state}; only items waiting for a decision "
                "can be sent again."
            )
        if not confirm_duplicate:
            raise DuplicateNotConfirmed(
                f"Queue item {item_id} may already be stored on the note ({item.error_message})"
            )
        copy_ok = item.prepared_path is not None and Path(item.prepared_path).exists()
        item = self.store.update(
            item_id,
            ItemState.READY if copy_ok and item.sha256_sent else ItemState.QUEUED,
            expect={ItemState.NEEDS_DECISION},
            message="the user chose to send it again, knowing a copy may exist",
            **_CLEAR_ERROR,
            duplicate_ok=True,
            retry_count=0,
            verify_attempts=0,
            image_id=None,
            server_status=None,
            uploaded_at=None,
            verified_at=None,
            hidden=False,
        )
        self._wake(item_id)
        return item

    def remove(self, item_id: int) -> QueueItem:
        """Hide an item from the list (cancelling it first if it never reached the server).

        The row stays in the file: it remembers what was sent, for the duplicate guard.
        InvalidTransition while the item is on its way: a hidden item must never be sent.
        """
        with self._claimed(item_id) as running:
            item = self.store.get(item_id)
            if running is not None or item.state in ACTIVE_STATES:
                raise InvalidTransition(
                    f"Queue item {item_id} is being sent; cancel it or wait, then remove it."
                )
            if not item.reached_server and item.state not in (
                ItemState.CANCELLED,
                ItemState.FAILED,
                ItemState.NEEDS_DECISION,
            ):
                self._cancel_idle(item_id)
            self._drop_copy(self.store.get(item_id))
            return self.store.update(item_id, message="removed from the list", hidden=True)

    def clear_done(self) -> int:
        """Hide verified items from the list (they stay on file for the duplicate guard)."""
        count = 0
        for item in self.store.items(states=[ItemState.VERIFIED]):
            self.store.update(item.id, message="cleared from the list", hidden=True)
            count += 1
        return count

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

    @contextlib.contextmanager
    def _claimed(self, item_id: int) -> Iterator[_Job | None]:
        """Keep workers off an idle item while this thread changes it.

        Yields None when the item is claimed, or the job that already has it (a worker's, or
        another claim's with phase ``held``); nothing is claimed then.
        """
        with self._cv:
            running = self._active.get(item_id)
            if running is None:
                self._active[item_id] = _Job(item_id, phase="held")
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

    def _take(self) -> tuple[QueueItem, _Job] | None:
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
                            job = _Job(item.id)
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
        clients: dict[tuple[str, str], UploadClient] = {}
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
                    self._process(item, job, clients)
                except StorageError as exc:
                    self._pause_for_storage(exc, item.id)
                except Exception:  # never lose the worker; the row says what happened
                    log.exception("queue item %s: unexpected failure", item.id)
                finally:
                    with self._cv:
                        self._active.pop(item.id, None)
                        self._cv.notify_all()
        finally:
            for client in clients.values():
                with contextlib.suppress(Exception):
                    client.close()

    def _client(
        self, item: QueueItem, clients: dict[tuple[str, str], UploadClient]
    ) -> UploadClient:
        key = (item.base_url, item.org_id)
        if key not in clients:
            clients[key] = self.client_factory(item.target)
        return clients[key]

    def _forget_client_if_refused(
        self, item: QueueItem, exc: BaseException, clients: dict[tuple[str, str], UploadClient]
    ) -> None:
        """After a rejected key or scope, the next item builds a new client: the user may have
        saved another key before choosing 'Retry'."""
        if isinstance(exc, (AuthError, ScopeError)):
            client = clients.pop((item.base_url, item.org_id), None)
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()

    def _process(
        self, item: QueueItem, job: _Job, clients: dict[tuple[str, str], UploadClient]
    ) -> None:
        if item.state in UPLOADED_STATES:
            self._verify(item, job, clients)
            return
        try:
            prepared = self._prepare(item, job)
            if prepared is None:
                return
            ready, data = prepared
            client = self._client(ready, clients)
        except BaseException as exc:
            self._fail(item.id, exc, "prepare", job)
            return
        uploaded = self._upload(ready, data, job, client, clients)
        if uploaded is not None:
            self._verify(uploaded, job, clients)

    # --- steps ----------------------------------------------------------------------------

    def _intact_copy(self, item: QueueItem) -> bytes | None:
        """The prepared copy's bytes, when they still hash to what was recorded."""
        if not item.prepared_path or not item.sha256_sent:
            return None
        try:
            data = Path(item.prepared_path).read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == item.sha256_sent else None

    def _prepare(self, item: QueueItem, job: _Job) -> tuple[QueueItem, bytes] | None:
        """Bring the item to ``ready``: the item and the bytes to send (read or made once);
        None if it went elsewhere."""
        if job.cancel.is_set():
            raise Cancelled("Cancelled before sending.")
        data = self._intact_copy(item)
        if data is not None:
            if item.state != ItemState.READY:
                item = self.store.update(
                    item.id,
                    ItemState.READY,
                    expect={item.state},
                    message="prepared copy found intact",
                    next_attempt_at=None,
                )
            return item, data
        item = self.store.update(
            item.id,
            ItemState.PREPARING,
            expect={ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER},
            message="preparing the photo",
            next_attempt_at=None,
        )
        prepared = self.copies.get(Path(item.source_path), item.preset)
        if prepared.sha256_original != item.sha256_original:
            self.store.update(
                item.id,
                ItemState.FAILED,
                message="the file changed after it was queued",
                error_kind="failed",
                error_code="file_changed",
                error_message=(
                    f"{shown(item.file_name)} changed after it was queued; it was not sent."
                ),
                next_step="Add the photo again so you can check it before it is sent.",
            )
            self._drop_copy(self.store.get(item.id))
            return None
        data = prepared.data
        self.cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        suffix = _MIME_SUFFIX.get(prepared.mime_type, ".bin")
        path = self.cache_dir / f"item-{item.id}-{prepared.sha256_output[:12]}{suffix}"
        try:
            write_private(path, data)
        except OSError as exc:
            raise (storage_error(exc, self.cache_dir) or exc) from exc
        if job.cancel.is_set():
            path.unlink(missing_ok=True)
            raise Cancelled("Cancelled before sending.")
        item = self.store.update(
            item.id,
            ItemState.READY,
            expect={ItemState.PREPARING},
            message=f"prepared: {len(data)} bytes, {prepared.mime_type}",
            prepared_path=str(path),
            sha256_sent=prepared.sha256_output,
            size_sent=len(data),
            mime_type=prepared.mime_type,
            sent_file_name=prepared.file_name,
        )
        return item, data

    def _upload(
        self,
        item: QueueItem,
        data: bytes,
        job: _Job,
        client: UploadClient,
        clients: dict[tuple[str, str], UploadClient],
        rate_limited: int = 0,
    ) -> QueueItem | None:
        assert item.mime_type
        mime = item.mime_type
        # Sit out a rate-limit pause while still 'ready': stopped now, nothing is ambiguous.
        while (remaining := self.gate.pause_remaining()) > 0 and not job.cancel.is_set():
            job.cancel.wait(min(remaining, 1.0))
        if job.cancel.is_set():
            self._fail(item.id, Cancelled("Cancelled before sending."), "prepare", job)
            return None
        item = self.store.begin_upload(
            item.id,
            message=f"sending (attempt {item.attempts + 1})",
            attempts=item.attempts + 1,
            sent_at=time.time(),
            **_CLEAR_ERROR,
        )
        if item.state != ItemState.UPLOADING:
            return None  # held by the duplicate guard
        job.phase = "upload"
        try:
            result = client.upload_image(
                item.note_id,
                item.provider_id,
                data,
                item.sent_file_name or f"photo{_MIME_SUFFIX.get(mime, '')}",
                mime,
                on_progress=lambda sent, total: self._progress(item.id, sent, total),
                cancel=job.cancel,
                resend_when_rate_limited=False,
            )
        except RateLimited as exc:
            if rate_limited >= RATE_LIMIT_RESENDS:
                self._fail(item.id, exc, "upload", job)
                return None
            # A 429 comes before any processing: back to 'ready' (nothing stored) before the
            # wait, so a stop or crash during it simply sends the photo later.
            item = self.store.update(
                item.id,
                ItemState.READY,
                expect={ItemState.UPLOADING},
                **rate_limited_wait(self.gate.pause_remaining()),
            )
            return self._upload(item, data, job, client, clients, rate_limited + 1)
        except BaseException as exc:
            self._forget_client_if_refused(item, exc, clients)
            self._fail(item.id, exc, "upload", job)
            return None
        status = str(result.status or "")
        try:
            state = ItemState(status)
        except ValueError:
            state = ItemState.PENDING_UPLOAD  # unknown status: kept raw, shown as not confirmed
        if state not in UPLOADED_STATES:
            state = ItemState.PENDING_UPLOAD
        log.info(
            "queue item %s: stored as %s, status %s (trace_id=%s)",
            item.id,
            result.id,
            status or "-",
            getattr(result, "trace_id", None) or "-",
        )
        return self.store.update(
            item.id,
            state,
            expect={ItemState.UPLOADING},
            message=f"stored as {result.id} (status {status or 'none'})",
            image_id=result.id,
            server_status=status or None,
            trace_id=getattr(result, "trace_id", None),
            uploaded_at=time.time(),
        )

    def _verify(
        self, item: QueueItem, job: _Job, clients: dict[tuple[str, str], UploadClient]
    ) -> None:
        assert item.image_id
        job.phase = "verify"
        try:
            if not item.sha256_sent:
                raise MaxUploadError("The hash of the sent copy is not on record.")
            client = self._client(item, clients)
            result = verify_stored_copy(
                client, item.note_id, item.image_id, item.sha256_sent, cancel=job.cancel
            )
        except Cancelled:
            return  # the engine is stopping; verification continues next time
        except BaseException as exc:
            self._forget_client_if_refused(item, exc, clients)
            outcome = classify(exc, "verify", item.id)
            if outcome.code == "verify_mismatch":
                self.store.update(
                    item.id,
                    ItemState.NEEDS_DECISION,
                    message=outcome.message,
                    error_kind=outcome.kind,
                    error_code=outcome.code,
                    error_message=outcome.message,
                    next_step=outcome.terminal_step,
                    next_attempt_at=None,
                )
                return
            attempt = item.verify_attempts + 1
            if attempt <= len(self.verify_delays):
                delay = self.verify_delays[attempt - 1]
                next_at: float | None = time.time() + delay
                message = f"Not verified yet: {outcome.message}"
                step = "MaxUpload checks the stored copy again by itself."
            else:
                next_at = None
                message = f"The stored copy could not be checked: {outcome.message}"
                step = (
                    f"The photo reached the server as {item.image_id}; open the note in the "
                    "EHR to check it."
                )
            self.store.update(
                item.id,
                message=message,
                verify_attempts=attempt,
                next_attempt_at=next_at,
                error_kind="verify",
                error_code=outcome.code,
                error_message=message,
                next_step=step,
            )
            return
        self.stored.put(item.image_id, result.url, result.data)
        self.store.update(
            item.id,
            ItemState.VERIFIED,
            message=f"stored copy matches what was sent ({result.size} bytes)",
            verified_at=time.time(),
            prepared_path=None,
            **_CLEAR_ERROR,
        )
        if item.prepared_path:
            Path(item.prepared_path).unlink(missing_ok=True)
        with contextlib.suppress(MaxUploadError, OSError):
            self.copies.discard(Path(item.source_path), item.preset)

    def _fail(self, item_id: int, exc: BaseException, phase: Phase, job: _Job) -> None:
        """Record a failure with its class; never re-send something that may be stored."""
        if isinstance(exc, StorageError):
            raise exc  # MaxUpload's own disk, not the photo: the worker pauses the queue
        if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
            raise storage_error(exc) or exc
        if isinstance(exc, Cancelled) and not job.user_cancelled and self._stopping:
            sent = bool(getattr(exc, "request_sent", False))
            if not sent:
                self.store.update(
                    item_id,
                    ItemState.QUEUED,
                    message="MaxUpload was closed before this photo was sent; it stays queued",
                    **_CLEAR_ERROR,
                )
                return
        outcome = classify(exc, phase, item_id)
        if not isinstance(exc, (MaxUploadError, OSError)):
            log.error("queue item %s: %s during %s", item_id, type(exc).__name__, phase)
        item = self.store.get(item_id)
        next_at: float | None = None
        retry_count = item.retry_count
        step = outcome.terminal_step
        if outcome.kind == "retry_later":
            if retry_count < len(self.retry_delays):
                next_at = time.time() + self.retry_delays[retry_count]
                retry_count += 1
            else:
                step = gave_up_step(exc, item_id)
        log.info(
            "queue item %s: %s during %s (%s, trace_id=%s)",
            item_id,
            outcome.state.value,
            phase,
            outcome.code,
            outcome.trace_id or "-",
        )
        failed = self.store.update(
            item_id,
            outcome.state,
            message=outcome.message,
            error_kind=outcome.kind,
            error_code=outcome.code,
            error_message=outcome.message,
            next_step=step,
            trace_id=outcome.trace_id or item.trace_id,
            next_attempt_at=next_at,
            retry_count=retry_count,
        )
        if outcome.kind in ("failed", "cancelled"):
            self._drop_copy(failed)
        if phase == "upload" and isinstance(exc, (AuthError, ScopeError, NoteLocked, NotFound)):
            self._fail_siblings(item, exc, outcome)

    def _fail_siblings(self, item: QueueItem, exc: BaseException, outcome: Outcome) -> None:
        """A rejected key or scope fails every photo of this run for that organization; a
        signed or unknown note every photo of this run for that note. Those not yet sent are
        marked now, unsent, with the same reason, instead of each asking the server for the
        same answer. Photos outside the run (``only``) may be sent with another key."""
        same_note = isinstance(exc, (NoteLocked, NotFound))
        with self._cv:
            run = None if self._only is None else set(self._only)
        waiting = self.store.items(
            include_hidden=True,
            states=[ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER],
            ids=run,
        )
        for other in waiting:
            if (other.base_url, other.org_id) != (item.base_url, item.org_id):
                continue
            if same_note and other.note_id != item.note_id:
                continue
            with self._claimed(other.id) as running:
                if running is not None:
                    continue
                try:
                    self.store.update(
                        other.id,
                        ItemState.FAILED,
                        expect={ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER},
                        message=f"not sent: item {item.id} got the same answer",
                        error_kind="failed",
                        error_code=outcome.code,
                        error_message=f"Not sent: {outcome.message}",
                        next_step=outcome.terminal_step.replace(
                            f"queue retry {item.id}", f"queue retry {other.id}"
                        ),
                        trace_id=outcome.trace_id,
                        next_attempt_at=None,
                    )
                except InvalidTransition:
                    continue
                self._drop_copy(self.store.get(other.id))

    # --- cache ----------------------------------------------------------------------------

    def _drop_copy(self, item: QueueItem) -> None:
        """Delete the prepared copy of an item that will not be sent as it is."""
        with contextlib.suppress(MaxUploadError, OSError):
            self.copies.discard(Path(item.source_path), item.preset)
        if item.prepared_path:
            Path(item.prepared_path).unlink(missing_ok=True)
            self.store.update(item.id, prepared_path=None)

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


_CLEAR_ERROR: dict[str, Any] = {
    "error_kind": None,
    "error_code": None,
    "error_message": None,
    "next_step": None,
    "next_attempt_at": None,
}
