"""An upload client that always sends with the key saved last.

The engine keeps one API client per worker and target for speed, and a client holds the key it
was built with. When the user saves another key (or other settings), the next call of each
worker must use it: no restart, no 401 with the old key first. ``CurrentClient`` wraps a
worker's client and builds it again, in that worker's thread, as soon as the connection's
generation moved on since it was built. Qt-free; the composition root bumps the generation.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

from maxupload.core.api.models import SignedUrl, UploadedImage
from maxupload.core.engine.ports import UploadClient


class Generation:
    """A counter of connection changes (settings saved, key replaced); thread-safe."""

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    def bump(self) -> int:
        with self._lock:
            self._value += 1
            return self._value

    def __call__(self) -> int:
        with self._lock:
            return self._value


class CurrentClient:
    """One worker's client, rebuilt when the connection changed since it was built.

    Used by one worker thread at a time (the engine gives each worker its own), so a rebuild
    never closes a client another request is using.
    """

    def __init__(self, build: Callable[[], UploadClient], generation: Callable[[], int]) -> None:
        self._build = build
        self._generation = generation
        self._client: UploadClient | None = None
        self._built_for = -1

    def current(self) -> UploadClient:
        """The client for the connection as it is now (the key is read again if it changed)."""
        now = self._generation()
        if self._client is None or now != self._built_for:
            self.close()
            self._client = self._build()
            self._built_for = now
        return self._client

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
    ) -> UploadedImage:
        return self.current().upload_image(
            note_id,
            provider_id,
            data,
            file_name,
            mime_type,
            on_progress=on_progress,
            cancel=cancel,
            resend_when_rate_limited=resend_when_rate_limited,
        )

    def get_image_url(self, note_id: str, image_id: str) -> SignedUrl:
        return self.current().get_image_url(note_id, image_id)

    def download(self, url: str, *, cancel: threading.Event | None = None) -> bytes:
        return self.current().download(url, cancel=cancel)

    def close(self) -> None:
        old, self._client = self._client, None
        if old is not None:
            with contextlib.suppress(Exception):
                old.close()


def _is_an_upload_client(client: CurrentClient) -> UploadClient:
    """Never called: makes mypy check ``CurrentClient`` against the engine's client port."""
    return client
