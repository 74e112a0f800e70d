"""What the sandbox received: stored images (with their bytes) and the request log."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


def iso_utc(ts: float) -> str:
    """ISO-8601 with milliseconds and ``Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{int((ts % 1) * 1000):03d}Z"
    )


@dataclass
class StoredImage:
    id: str
    note_id: str
    provider_id: str
    org_id: str
    file_name: str
    mime_type: str
    data: bytes
    status: str
    received_at: float
    trace_id: str

    @property
    def sha256(self) -> str:
        """The stored bytes' hash (hex), as listed and as the download's ETag is built from."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def object_key(self) -> str:
        ext = "png" if self.mime_type == "image/png" else "jpg"
        return f"{self.org_id}/notes/{self.note_id}/images/{self.id}.{ext}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "noteId": self.note_id,
            "providerId": self.provider_id,
            "orgId": self.org_id,
            "sha256": self.sha256,
            "size": len(self.data),
            "mimeType": self.mime_type,
            "fileName": self.file_name,
            "status": self.status,
            "receivedAt": iso_utc(self.received_at),
            "traceId": self.trace_id,
        }


class ImageStore:
    """Every stored image, in arrival order."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._images: dict[str, StoredImage] = {}

    def add(self, image: StoredImage) -> None:
        with self._lock:
            self._images[image.id] = image

    def get(self, image_id: str) -> StoredImage | None:
        with self._lock:
            return self._images.get(image_id)

    def by_object_key(self, key: str) -> StoredImage | None:
        with self._lock:
            return next((i for i in self._images.values() if i.object_key == key), None)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [i.to_dict() for i in self._images.values()]

    def clear(self) -> None:
        with self._lock:
            self._images.clear()


class RequestLog:
    """One entry per API or S3 request (never the Authorization header or any key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []
        self._attempts: dict[tuple[str, str, str], int] = {}

    def start(self, entry: dict[str, Any]) -> dict[str, Any]:
        """Record a request as it arrives; the caller fills in status and fault later."""
        with self._lock:
            key = (entry["method"], entry["path"], entry.get("rawQuery", ""))
            self._attempts[key] = self._attempts.get(key, 0) + 1
            entry["attempt"] = self._attempts[key]
            entry["seq"] = len(self._entries) + 1
            self._entries.append(entry)
            return entry

    def update(self, entry: dict[str, Any], **fields: Any) -> None:
        with self._lock:
            entry.update(fields)

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._entries]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._attempts.clear()
