"""The engine's ports: what the per-photo step needs from the world, as typed Protocols.

:func:`maxupload.core.engine.steps.process_one` talks only to these: the queue store, the
prepared copies, one API client per target, the rate gate, the stored copies kept for the
preview, a clock, and the scheduler's run control. The scheduler passes the real objects; a
test may pass its own. ``EngineListener`` is what the engine reports to its front end.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from maxupload.core.api.models import SignedUrl, Target, UploadedImage
from maxupload.core.api.verify import VerifyClient
from maxupload.core.queue.model import ItemState, QueueItem

if TYPE_CHECKING:  # Pillow loads only when a photo is prepared (start-up time)
    from maxupload.core.imaging.prepare import Prepared
    from maxupload.core.imaging.presets import Preset


class EngineListener(Protocol):
    """What the engine reports. Called from worker threads, after the change is committed.

    A listener may also have ``storage_failed(exc)``: called once when MaxUpload's own storage
    fails (disk full, damaged queue file) and the queue pauses; ``start`` or ``resume`` go on.
    """

    def item_changed(self, item: QueueItem) -> None: ...

    def item_progress(self, item_id: int, sent: int, total: int) -> None: ...

    def batch_finished(self, counts: dict[str, int]) -> None: ...


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


class StepStore(Protocol):
    """The queue store's operations a step uses (``QueueStore`` is the real one)."""

    def get(self, item_id: int) -> QueueItem: ...

    def items(
        self,
        *,
        include_hidden: bool = False,
        states: Iterable[ItemState] | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[QueueItem]: ...

    def update(
        self,
        item_id: int,
        state: ItemState | None = None,
        *,
        expect: Iterable[ItemState] | None = None,
        message: str | None = None,
        **changes: Any,
    ) -> QueueItem: ...

    def begin_upload(self, item_id: int, *, message: str, **changes: Any) -> QueueItem: ...


class CopyMaker(Protocol):
    """Prepared copies made once per photo and preset (``PreparedCopies`` is the real one)."""

    def get(self, source: Path, preset: Preset | str) -> Prepared: ...

    def discard(self, source: Path, preset: Preset | str) -> None: ...


class StoredCopyKeeper(Protocol):
    """Keeps a verified stored copy for the preview (``StoredCopies`` is the real one)."""

    def put(self, image_id: str, url: SignedUrl, data: bytes) -> None: ...


class PauseGate(Protocol):
    """The rate limiter's pause after a 429 (``RateGate`` is the real one)."""

    def pause_remaining(self) -> float: ...


@dataclass
class Job:
    """One photo in a worker's (or a user action's) hands; ``cancel`` interrupts it."""

    item_id: int
    cancel: threading.Event = field(default_factory=threading.Event)
    user_cancelled: bool = False
    phase: Literal["prepare", "upload", "verify", "held"] = "prepare"  # held: by a user action


class RunControl(Protocol):
    """What a step asks of the scheduler that runs it."""

    def is_stopping(self) -> bool:
        """True once the engine shuts down (an interrupted photo then stays queued)."""
        ...

    def run_ids(self) -> set[int] | None:
        """The item ids of this run, or None for the whole queue."""
        ...

    def claim(self, item_id: int) -> AbstractContextManager[Job | None]:
        """Keep workers off an idle item while it is changed (None: claimed now)."""
        ...

    def report_progress(self, item_id: int, sent: int, total: int) -> None:
        """Bytes of a photo sent so far."""
        ...


class ClientSource(Protocol):
    """The API clients of one worker, one per target's server and organization."""

    def client_for(self, item: QueueItem) -> UploadClient: ...

    def forget_if_refused(self, item: QueueItem, exc: BaseException) -> None: ...


@dataclass(frozen=True)
class StepPorts:
    """Everything :func:`~maxupload.core.engine.steps.process_one` works with."""

    store: StepStore
    copies: CopyMaker
    stored: StoredCopyKeeper
    gate: PauseGate
    clients: ClientSource
    run: RunControl
    #: Where prepared copies wait to be sent (owner-only; deleted once verified).
    cache_dir: Path
    #: Seconds before each automatic retry of an item that stored nothing (network, 429).
    retry_delays: tuple[float, ...]
    #: Seconds before each new attempt to verify a stored copy.
    verify_delays: tuple[float, ...]
    #: The wall clock (seconds since the epoch) for the times written to the queue.
    now: Callable[[], float] = time.time
