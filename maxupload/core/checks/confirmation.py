"""A patient confirmation covers one batch of photos, and it expires.

The user confirms the patient for the photos listed at that moment; those photos (by id) are
all it covers. It ends when the batch it sent finishes, when photos are added it does not cover,
when it is not used within the idle time, when a queue is restored at start-up, when the target
changes, and on any change of organization, environment or API key. Every end has a reason the
front ends show in plain words and tests can assert. No Qt here: the window and the command line
use the same rules.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

#: How long (seconds) a confirmation waits for its batch to be sent before it expires.
DEFAULT_IDLE_SECONDS = 300
MIN_IDLE_SECONDS = 1
MAX_IDLE_SECONDS = 3600


class Expiry(enum.StrEnum):
    """Why a confirmation ended (the codes tests and logs use)."""

    WITHDRAWN = "withdrawn"
    TARGET_CHANGED = "target_changed"
    BATCH_FINISHED = "batch_finished"
    PHOTOS_ADDED = "photos_added"
    IDLE = "idle"
    QUEUE_RESTORED = "queue_restored"
    CONNECTION_CHANGED = "connection_changed"
    UPLOAD_REFUSED = "upload_refused"


#: What the user reads when a confirmation ends by itself (withdrawing it needs no message).
EXPIRY_TEXT: dict[Expiry, str] = {
    Expiry.WITHDRAWN: "",
    Expiry.TARGET_CHANGED: "",
    Expiry.BATCH_FINISHED: (
        "The batch is done, so its patient confirmation ended. For more photos, check the "
        "patient and confirm again."
    ),
    Expiry.PHOTOS_ADDED: (
        "Photos were added after you confirmed the patient. Check the patient again and tick the "
        "confirmation to send them."
    ),
    Expiry.IDLE: (
        "The patient confirmation ended after {minutes} without an upload. Check the patient "
        "and confirm again."
    ),
    Expiry.QUEUE_RESTORED: (
        "Photos from the last session were restored. Check the patient and confirm again "
        "before they are sent."
    ),
    Expiry.CONNECTION_CHANGED: (
        "The organization, environment or API key changed, so the patient confirmation ended. "
        "Pick the note and confirm again."
    ),
    Expiry.UPLOAD_REFUSED: "",  # the refusal itself is shown with its next step
}


def idle_problem(seconds: object) -> str | None:
    """Why ``seconds`` cannot be the idle time (0 = never is not allowed), or None."""
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        return "the confirmation idle time must be a whole number of seconds"
    if not MIN_IDLE_SECONDS <= seconds <= MAX_IDLE_SECONDS:
        return (
            f"the confirmation idle time must be {MIN_IDLE_SECONDS} to {MAX_IDLE_SECONDS} "
            "seconds (a confirmation that never expires is not allowed)"
        )
    return None


def duration_text(seconds: float) -> str:
    """``5 minutes``, ``1 minute``, ``30 seconds``: the idle time in words."""
    whole = round(seconds)
    if whole >= 60 and whole % 60 == 0:
        minutes = whole // 60
        return "1 minute" if minutes == 1 else f"{minutes} minutes"
    return "1 second" if whole == 1 else f"{whole} seconds"


def expiry_text(reason: Expiry, idle_seconds: float = DEFAULT_IDLE_SECONDS) -> str:
    """The plain message for ``reason`` (empty when the user ended it themselves)."""
    return EXPIRY_TEXT[reason].format(minutes=duration_text(idle_seconds))


@dataclass(frozen=True)
class Confirmation:
    """The user's word that ``photos`` go to ``patient_name``'s note ``note_id``."""

    note_id: str
    patient_name: str
    photos: frozenset[str]
    idle_seconds: float
    given_at: float
    sent: bool = False  # its batch was handed to the queue

    @property
    def idle_deadline(self) -> float | None:
        """When it expires unused (None once its batch was sent: the batch's end ends it)."""
        return None if self.sent else self.given_at + self.idle_seconds


@dataclass
class BatchConfirmation:
    """The live confirmation, if any, and why the last one ended."""

    clock: Callable[[], float] = time.monotonic
    current: Confirmation | None = None
    last_expiry: Expiry | None = None
    history: list[Expiry] = field(default_factory=list)

    def give(
        self,
        note_id: str,
        patient_name: str,
        photos: Iterable[str],
        idle_seconds: float = DEFAULT_IDLE_SECONDS,
    ) -> Confirmation:
        """The user confirmed the patient for exactly the photos listed now."""
        if idle_seconds <= 0:
            raise ValueError("a confirmation must expire: the idle time must be positive")
        self.current = Confirmation(
            note_id=note_id,
            patient_name=patient_name,
            photos=frozenset(photos),
            idle_seconds=float(idle_seconds),
            given_at=self.clock(),
        )
        self.last_expiry = None
        return self.current

    def covers(self, note_id: str, photo: str) -> bool:
        """True when ``photo`` may be sent to ``note_id`` under the live confirmation."""
        c = self.current
        return c is not None and c.note_id == note_id and photo in c.photos

    def covered(self, note_id: str, photos: Iterable[str]) -> list[str]:
        """The photos of ``photos`` the live confirmation covers for ``note_id``, in order."""
        return [p for p in photos if self.covers(note_id, p)]

    def expire(self, reason: Expiry) -> bool:
        """End the live confirmation; True if there was one."""
        if self.current is None:
            return False
        self.current = None
        self.last_expiry = reason
        self.history.append(reason)
        return True

    def batch_sent(self, photos: Iterable[str] = ()) -> None:
        """Its batch was handed to the queue (``photos``: the queue ids it now goes by)."""
        c = self.current
        if c is not None:
            self.current = replace(c, sent=True, photos=c.photos | frozenset(photos))

    def batch_not_sent(self) -> None:
        """Handing the batch over failed before anything was queued (e.g. a full disk): the
        confirmation stays, unused again, and its idle time runs on from when it was given."""
        c = self.current
        if c is not None:
            self.current = replace(c, sent=False)

    def batch_finished(self) -> bool:
        """The queue went idle: a confirmation whose batch was sent ends with it."""
        if self.current is not None and self.current.sent:
            return self.expire(Expiry.BATCH_FINISHED)
        return False

    def photos_added(self, photos: Iterable[str]) -> bool:
        """Photos were listed: any it does not cover end it (it covers what was listed)."""
        c = self.current
        if c is not None and any(p not in c.photos for p in photos):
            return self.expire(Expiry.PHOTOS_ADDED)
        return False

    def check_idle(self, now: float | None = None) -> bool:
        """End the confirmation if it was not used within its idle time."""
        c = self.current
        deadline = c.idle_deadline if c is not None else None
        if deadline is not None and (self.clock() if now is None else now) >= deadline:
            return self.expire(Expiry.IDLE)
        return False

    def seconds_left(self, now: float | None = None) -> float | None:
        """Seconds until the idle expiry (None when none is due)."""
        c = self.current
        deadline = c.idle_deadline if c is not None else None
        if deadline is None:
            return None
        return max(0.0, deadline - (self.clock() if now is None else now))
