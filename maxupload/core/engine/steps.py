"""One photo's way through the engine: prepare, upload, verify, and what a failure records.

:func:`process_one` walks a queue item as far as it can go now. Each step is committed to the
store before the next begins (see the state machine in :mod:`maxupload.core.queue.model`):

1. prepare: decode, orient, strip metadata, resize and encode (once, through the prepared
   copies); the copy is written to the cache folder and its sha256 recorded: ``ready``;
2. the duplicate guard (photo and prepared copy) and ``uploading`` are committed in one
   transaction, so two copies of one photo are never both on their way;
3. the request is sent; the answer's status (``pending_upload``/``synced``/``archived``,
   unknown values kept raw, shown as not confirmed) and image id are committed;
4. verification: download the stored copy through a signed URL and compare hashes; then
   ``verified`` and the prepared copy is deleted.

Failures are classified in :mod:`maxupload.core.outcomes`: only what certainly stored nothing
is retried by itself. The step knows the world only through its typed ports
(:class:`~maxupload.core.engine.ports.StepPorts`); the scheduler runs it on worker threads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from pathlib import Path
from typing import Any

from maxupload.core.api.errors import (
    AuthError,
    Cancelled,
    NoteLocked,
    NotFound,
    RateLimited,
    ScopeError,
)
from maxupload.core.api.ratelimit import RATE_LIMIT_RESENDS, rate_limited_wait
from maxupload.core.api.verify import verify_stored_copy
from maxupload.core.engine.ports import (
    ClientFactory,
    CopyMaker,
    Job,
    StepPorts,
    StepStore,
    UploadClient,
)
from maxupload.core.errors import MaxUploadError
from maxupload.core.outcomes import Outcome, Phase, classify, gave_up_step
from maxupload.core.queue.filenames import shown
from maxupload.core.queue.model import UPLOADED_STATES, InvalidTransition, ItemState, QueueItem
from maxupload.core.system.paths import write_private
from maxupload.core.system.storage import FULL_ERRNOS, StorageError, storage_error

log = logging.getLogger(__name__)

_MIME_SUFFIX = {"image/jpeg": ".jpg", "image/png": ".png"}

#: The fields a fresh attempt clears.
CLEAR_ERROR: dict[str, Any] = {
    "error_kind": None,
    "error_code": None,
    "error_message": None,
    "next_step": None,
    "next_attempt_at": None,
}


class ClientPool:
    """One worker's API clients, one per target's server and organization."""

    def __init__(self, factory: ClientFactory) -> None:
        self._factory = factory
        self._clients: dict[tuple[str, str], UploadClient] = {}

    def client_for(self, item: QueueItem) -> UploadClient:
        key = (item.base_url, item.org_id)
        if key not in self._clients:
            self._clients[key] = self._factory(item.target)
        return self._clients[key]

    def forget_if_refused(self, item: QueueItem, exc: BaseException) -> None:
        """After a rejected key or scope, the next item builds a new client: the user may have
        saved another key before choosing 'Retry'."""
        if isinstance(exc, (AuthError, ScopeError)):
            client = self._clients.pop((item.base_url, item.org_id), None)
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()

    def close(self) -> None:
        for client in self._clients.values():
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()


def process_one(item: QueueItem, job: Job, ports: StepPorts) -> None:
    """Take ``item`` as far as it goes now: prepare, upload and verify, or verify again."""
    if item.state in UPLOADED_STATES:
        _verify(item, job, ports)
        return
    try:
        prepared = _prepare(item, job, ports)
        if prepared is None:
            return
        ready, data = prepared
        client = ports.clients.client_for(ready)
    except BaseException as exc:
        _fail(item.id, exc, "prepare", job, ports)
        return
    uploaded = _upload(ready, data, job, client, ports)
    if uploaded is not None:
        _verify(uploaded, job, ports)


def intact_copy(item: QueueItem) -> bytes | None:
    """The prepared copy's bytes, when they still hash to what was recorded."""
    if not item.prepared_path or not item.sha256_sent:
        return None
    try:
        data = Path(item.prepared_path).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == item.sha256_sent else None


def _prepare(item: QueueItem, job: Job, ports: StepPorts) -> tuple[QueueItem, bytes] | None:
    """Bring the item to ``ready``: the item and the bytes to send (read or made once);
    None if it went elsewhere."""
    store = ports.store
    if job.cancel.is_set():
        raise Cancelled("Cancelled before sending.")
    data = intact_copy(item)
    if data is not None:
        if item.state != ItemState.READY:
            item = store.update(
                item.id,
                ItemState.READY,
                expect={item.state},
                message="prepared copy found intact",
                next_attempt_at=None,
            )
        return item, data
    item = store.update(
        item.id,
        ItemState.PREPARING,
        expect={ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER},
        message="preparing the photo",
        next_attempt_at=None,
    )
    prepared = ports.copies.get(Path(item.source_path), item.preset)
    if prepared.sha256_original != item.sha256_original:
        store.update(
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
        drop_copy(store.get(item.id), store, ports.copies)
        return None
    data = prepared.data
    cache_dir = ports.cache_dir
    cache_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = _MIME_SUFFIX.get(prepared.mime_type, ".bin")
    path = cache_dir / f"item-{item.id}-{prepared.sha256_output[:12]}{suffix}"
    try:
        write_private(path, data)
    except OSError as exc:
        raise (storage_error(exc, cache_dir) or exc) from exc
    if job.cancel.is_set():
        path.unlink(missing_ok=True)
        raise Cancelled("Cancelled before sending.")
    item = store.update(
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
    item: QueueItem,
    data: bytes,
    job: Job,
    client: UploadClient,
    ports: StepPorts,
    rate_limited: int = 0,
) -> QueueItem | None:
    store = ports.store
    assert item.mime_type
    mime = item.mime_type
    # Sit out a rate-limit pause while still 'ready': stopped now, nothing is ambiguous.
    while (remaining := ports.gate.pause_remaining()) > 0 and not job.cancel.is_set():
        job.cancel.wait(min(remaining, 1.0))
    if job.cancel.is_set():
        _fail(item.id, Cancelled("Cancelled before sending."), "prepare", job, ports)
        return None
    item = store.begin_upload(
        item.id,
        message=f"sending (attempt {item.attempts + 1})",
        attempts=item.attempts + 1,
        sent_at=ports.now(),
        **CLEAR_ERROR,
    )
    if item.state != ItemState.UPLOADING:
        return None  # held by the duplicate guard
    job.phase = "upload"
    item_id = item.id
    try:
        result = client.upload_image(
            item.note_id,
            item.provider_id,
            data,
            item.sent_file_name or f"photo{_MIME_SUFFIX.get(mime, '')}",
            mime,
            on_progress=lambda sent, total: ports.run.report_progress(item_id, sent, total),
            cancel=job.cancel,
            resend_when_rate_limited=False,
        )
    except RateLimited as exc:
        if rate_limited >= RATE_LIMIT_RESENDS:
            _fail(item.id, exc, "upload", job, ports)
            return None
        # A 429 comes before any processing: back to 'ready' (nothing stored) before the
        # wait, so a stop or crash during it simply sends the photo later.
        item = store.update(
            item.id,
            ItemState.READY,
            expect={ItemState.UPLOADING},
            **rate_limited_wait(ports.gate.pause_remaining()),
        )
        return _upload(item, data, job, client, ports, rate_limited + 1)
    except BaseException as exc:
        ports.clients.forget_if_refused(item, exc)
        _fail(item.id, exc, "upload", job, ports)
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
    return store.update(
        item.id,
        state,
        expect={ItemState.UPLOADING},
        message=f"stored as {result.id} (status {status or 'none'})",
        image_id=result.id,
        server_status=status or None,
        trace_id=getattr(result, "trace_id", None),
        uploaded_at=ports.now(),
    )


def _verify(item: QueueItem, job: Job, ports: StepPorts) -> None:
    store = ports.store
    assert item.image_id
    job.phase = "verify"
    try:
        if not item.sha256_sent:
            raise MaxUploadError("The hash of the sent copy is not on record.")
        client = ports.clients.client_for(item)
        result = verify_stored_copy(
            client, item.note_id, item.image_id, item.sha256_sent, cancel=job.cancel
        )
    except Cancelled:
        return  # the engine is stopping; verification continues next time
    except BaseException as exc:
        ports.clients.forget_if_refused(item, exc)
        outcome = classify(exc, "verify", item.id)
        if outcome.code == "verify_mismatch":
            store.update(
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
        if attempt <= len(ports.verify_delays):
            delay = ports.verify_delays[attempt - 1]
            next_at: float | None = ports.now() + delay
            message = f"Not verified yet: {outcome.message}"
            step = "MaxUpload checks the stored copy again by itself."
        else:
            next_at = None
            message = f"The stored copy could not be checked: {outcome.message}"
            step = (
                f"The photo reached the server as {item.image_id}; open the note in the "
                "EHR to check it."
            )
        store.update(
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
    ports.stored.put(item.image_id, result.url, result.data)
    store.update(
        item.id,
        ItemState.VERIFIED,
        message=f"stored copy matches what was sent ({result.size} bytes)",
        verified_at=ports.now(),
        prepared_path=None,
        **CLEAR_ERROR,
    )
    if item.prepared_path:
        Path(item.prepared_path).unlink(missing_ok=True)
    with contextlib.suppress(MaxUploadError, OSError):
        ports.copies.discard(Path(item.source_path), item.preset)


def _fail(item_id: int, exc: BaseException, phase: Phase, job: Job, ports: StepPorts) -> None:
    """Record a failure with its class; never re-send something that may be stored."""
    store = ports.store
    if isinstance(exc, StorageError):
        raise exc  # MaxUpload's own disk, not the photo: the worker pauses the queue
    if isinstance(exc, OSError) and exc.errno in FULL_ERRNOS:
        raise storage_error(exc) or exc
    if isinstance(exc, Cancelled) and not job.user_cancelled and ports.run.is_stopping():
        sent = bool(getattr(exc, "request_sent", False))
        if not sent:
            store.update(
                item_id,
                ItemState.QUEUED,
                message="MaxUpload was closed before this photo was sent; it stays queued",
                **CLEAR_ERROR,
            )
            return
    outcome = classify(exc, phase, item_id)
    if not isinstance(exc, (MaxUploadError, OSError)):
        log.error("queue item %s: %s during %s", item_id, type(exc).__name__, phase)
    item = store.get(item_id)
    next_at: float | None = None
    retry_count = item.retry_count
    step = outcome.terminal_step
    if outcome.kind == "retry_later":
        if retry_count < len(ports.retry_delays):
            next_at = ports.now() + ports.retry_delays[retry_count]
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
    failed = store.update(
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
        drop_copy(failed, store, ports.copies)
    if phase == "upload" and isinstance(exc, (AuthError, ScopeError, NoteLocked, NotFound)):
        _fail_siblings(item, exc, outcome, ports)


def _fail_siblings(item: QueueItem, exc: BaseException, outcome: Outcome, ports: StepPorts) -> None:
    """A rejected key or scope fails every photo of this run for that organization; a
    signed or unknown note every photo of this run for that note. Those not yet sent are
    marked now, unsent, with the same reason, instead of each asking the server for the
    same answer. Photos outside the run (``only``) may be sent with another key."""
    store = ports.store
    same_note = isinstance(exc, (NoteLocked, NotFound))
    waiting = store.items(
        include_hidden=True,
        states=[ItemState.QUEUED, ItemState.READY, ItemState.RETRY_LATER],
        ids=ports.run.run_ids(),
    )
    for other in waiting:
        if (other.base_url, other.org_id) != (item.base_url, item.org_id):
            continue
        if same_note and other.note_id != item.note_id:
            continue
        with ports.run.claim(other.id) as running:
            if running is not None:
                continue
            try:
                store.update(
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
            drop_copy(store.get(other.id), store, ports.copies)


def drop_copy(item: QueueItem, store: StepStore, copies: CopyMaker) -> None:
    """Delete the prepared copy of an item that will not be sent as it is."""
    with contextlib.suppress(MaxUploadError, OSError):
        copies.discard(Path(item.source_path), item.preset)
    if item.prepared_path:
        Path(item.prepared_path).unlink(missing_ok=True)
        store.update(item.id, prepared_path=None)
