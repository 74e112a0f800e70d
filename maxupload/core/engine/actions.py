"""What a user does to one queued photo: cancel, retry, send again, remove, clear.

These run on the caller's thread (the window's pool or the command line) beside the engine's
workers: each claims the item first so no worker takes it halfway (``claim``), and each change
is one committed, compare-and-set update of the store, so a race ends in ``InvalidTransition``,
never in a photo sent twice or hidden while on its way.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

from maxupload.core.engine.ports import CopyMaker, Job
from maxupload.core.engine.steps import CLEAR_ERROR, drop_copy
from maxupload.core.errors import MaxUploadError
from maxupload.core.queue.model import (
    ACTIVE_STATES,
    UPLOADED_STATES,
    InvalidTransition,
    ItemState,
    QueueItem,
)
from maxupload.core.queue.store import QueueStore


class DuplicateNotConfirmed(MaxUploadError):
    """``send_again`` needs an explicit confirmation that a second copy is wanted."""

    default_next_step = (
        "Check the note in the EHR first; then confirm 'Send again' "
        "(maxupload queue send-again ID --yes)."
    )


class UserActions:
    """The user's actions on queue items; ``UploadEngine`` provides the store, the prepared
    copies, ``claim`` and ``_wake``."""

    store: QueueStore
    copies: CopyMaker

    def claim(self, item_id: int) -> AbstractContextManager[Job | None]:
        raise NotImplementedError

    def _wake(self, item_id: int) -> None:
        raise NotImplementedError

    def _drop_copy(self, item: QueueItem) -> None:
        drop_copy(item, self.store, self.copies)

    def cancel(self, item_id: int) -> bool:
        """Cancel an item that has not reached the server. An upload in flight is aborted; if
        its request had already gone out, the item waits for a decision instead."""
        with self.claim(item_id) as running:
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
                expect={
                    ItemState.CHECKING,
                    ItemState.QUEUED,
                    ItemState.READY,
                    ItemState.RETRY_LATER,
                },
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
                **CLEAR_ERROR,
                verify_attempts=0,
            )
            self._wake(item_id)
            return item
        item = self.store.update(
            item_id,
            ItemState.QUEUED,
            expect={ItemState.RETRY_LATER, ItemState.FAILED, ItemState.CANCELLED},
            message="queued again by the user",
            **CLEAR_ERROR,
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
            **CLEAR_ERROR,
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
        with self.claim(item_id) as running:
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
