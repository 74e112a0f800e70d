"""Check the server's copy: fetch a signed URL, download the stored photo, compare sha256.

A photo counts as delivered only when the bytes Max AI serves back are the bytes MaxUpload
sent. Signed URLs expire (about an hour), so a URL is fetched again when it is due to expire
and when the download answers 403 (expired, or a clock that disagrees with the server's).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from maxupload.core.api.errors import ApiError, Cancelled, VerificationError
from maxupload.core.api.models import SignedUrl

#: Fetch a new URL when the one in hand expires within this many seconds.
EXPIRY_MARGIN_S = 30.0
#: How many times a refused or expired URL is replaced before giving up.
MAX_REFRESHES = 3


class VerifyClient(Protocol):
    """The two calls of ``ApiClient`` that verification uses."""

    def get_image_url(self, note_id: str, image_id: str) -> SignedUrl: ...

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes: ...


class CopyMismatch(VerificationError):
    """The server's copy is not the photo that was sent (a different or damaged file)."""


class CopyUnavailable(VerificationError):
    """No signed link for the stored copy worked; it may work later."""

    default_next_step = (
        "MaxUpload checks the stored copy again later; the photo did reach the server."
    )


@dataclass(frozen=True)
class Verified:
    """The stored copy matched: its hash, size, and how many URLs it took."""

    sha256: str
    size: int
    url_fetches: int
    url: SignedUrl
    #: The downloaded bytes, so the preview can show them without a second download.
    data: bytes = field(default=b"", repr=False)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def verify_stored_copy(
    client: VerifyClient,
    note_id: str,
    image_id: str,
    expected_sha256: str,
    *,
    signed_url: SignedUrl | None = None,
    cancel: threading.Event | None = None,
    now: Callable[[], datetime] = _utcnow,
    max_refreshes: int = MAX_REFRESHES,
) -> Verified:
    """Download image ``image_id`` and compare it with ``expected_sha256``.

    ``signed_url`` is a URL fetched earlier (reused unless it is about to expire). Raises
    CopyMismatch when the bytes differ and CopyUnavailable when no URL works (both are
    VerificationError); API and network errors pass through so the caller can try again later.
    """
    url = signed_url
    fresh = False
    fetches = 0
    refreshes = 0
    while True:
        if cancel is not None and cancel.is_set():
            raise Cancelled("Verification cancelled.")
        if url is None or (not fresh and url.is_expired(now(), EXPIRY_MARGIN_S)):
            url = client.get_image_url(note_id, image_id)
            fetches += 1
            fresh = True
        try:
            data = client.download(url.url, cancel=cancel)
        except ApiError as exc:
            if exc.status != 403:
                raise
            if refreshes >= max_refreshes:
                raise CopyUnavailable(
                    f"The stored copy of {image_id} could not be downloaded: the signed link "
                    f"was refused {refreshes + 1} times (HTTP 403)."
                ) from exc
            refreshes += 1
            url, fresh = None, False
            continue
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected_sha256:
            raise CopyMismatch(
                f"The copy stored as {image_id} differs from the photo that was sent "
                f"(sent sha256 {expected_sha256[:12]}..., stored {digest[:12]}..., "
                f"{len(data)} bytes)."
            )
        return Verified(sha256=digest, size=len(data), url_fetches=fetches, url=url, data=data)
