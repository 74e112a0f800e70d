"""Stored copies downloaded to verify an upload, kept in memory for the preview.

Verification downloads each stored copy through its signed link and checks its hash; the
preview then shows that same stored copy. Keeping the verified bytes (and the link) for a while
means the photo is downloaded once, not once to verify and again to show it. Bounded by total
size, oldest dropped first; nothing is written to disk.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime

from maxupload.core.api.models import SignedUrl

#: Total bytes kept (about 80 Standard photos).
MAX_BYTES = 64 * 1024 * 1024
#: A link this close to expiry is renewed before it is shown (seconds).
LINK_MARGIN_S = 60.0


class StoredCopies:
    """Thread-safe, size-bounded memory of verified stored copies, by image id."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[str, tuple[SignedUrl, bytes]] = OrderedDict()
        self._bytes = 0

    def put(self, image_id: str, url: SignedUrl, data: bytes) -> None:
        """Remember the verified copy of ``image_id`` and the link it came through."""
        if not data or len(data) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(image_id, None)
            if old is not None:
                self._bytes -= len(old[1])
            self._items[image_id] = (url, data)
            self._bytes += len(data)
            while self._bytes > self.max_bytes:
                _id, (_url, dropped) = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def get(self, image_id: str) -> tuple[SignedUrl | None, bytes] | None:
        """The bytes of a verified copy, and its link unless that is about to expire."""
        with self._lock:
            found = self._items.get(image_id)
            if found is None:
                return None
            self._items.move_to_end(image_id)
        url, data = found
        fresh = not url.is_expired(datetime.now(UTC), LINK_MARGIN_S)
        return (url if fresh else None), data
