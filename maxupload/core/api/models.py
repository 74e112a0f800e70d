"""Plain data records shared by the core, the command line and the window."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

T = TypeVar("T")


def parse_visit_date(value: str | None) -> datetime | None:
    """Read the API's ``visitDate`` ("2026-03-20 18:30:00+00"), or an ISO-8601 value leniently."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 3 and text[-3] in "+-" and text[-2:].isdigit():
        text += ":00"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


@dataclass(frozen=True)
class Pagination:
    page: int
    page_size: int
    total_count: int
    total_pages: int


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list endpoint (notes, providers or patients)."""

    items: list[T]
    pagination: Pagination


@dataclass(frozen=True)
class Patient:
    id: str
    first_name: str
    last_name: str
    mrn: str | None = None
    date_of_birth: str | None = None  # YYYY-MM-DD
    gender: str | None = None
    middle_name: str | None = None

    @property
    def display_name(self) -> str:
        return f"{self.last_name}, {self.first_name}".strip(", ")


@dataclass(frozen=True)
class Facility:
    id: str
    name: str = ""
    timezone: str | None = None


@dataclass(frozen=True)
class Provider:
    id: str
    first_name: str = ""
    last_name: str = ""
    display_first_name: str | None = None
    display_last_name: str | None = None
    hidden: bool = False
    can_finalize: bool | None = None
    role_type: str | None = None

    @property
    def display_name(self) -> str:
        first = self.display_first_name or self.first_name
        last = self.display_last_name or self.last_name
        return f"{first} {last}".strip() or self.id


#: Note statuses that refuse new images (the server's 409 is the final word).
LOCKED_NOTE_STATUSES = frozenset({"signed"})


@dataclass(frozen=True)
class Note:
    id: str
    version: int | None = None
    visit_date: str | None = None  # raw API value
    status: str | None = None
    patient: Patient | None = None
    facility: Facility | None = None
    ehr_type: str | None = None
    assigned_providers: tuple[Provider, ...] = ()

    @property
    def visit_datetime(self) -> datetime | None:
        return parse_visit_date(self.visit_date)

    @property
    def is_locked(self) -> bool:
        return (self.status or "").lower() in LOCKED_NOTE_STATUSES


class ImageStatus(enum.StrEnum):
    """The server's status of a stored image (unknown values are kept as text elsewhere)."""

    PENDING_UPLOAD = "pending_upload"
    SYNCED = "synced"
    ARCHIVED = "archived"


@dataclass(frozen=True)
class UploadedImage:
    """The 200 answer of ``POST /notes/{noteId}/images``."""

    id: str
    file_name: str
    mime_type: str
    size_kb: float
    status: str  # one of ImageStatus, or an unknown value kept as it came
    trace_id: str | None = None


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_at: datetime  # aware, UTC

    def is_expired(self, now: datetime, margin_s: float = 60.0) -> bool:
        return (self.expires_at - now).total_seconds() <= margin_s


@dataclass(frozen=True)
class KeyInfo:
    """The answer of ``GET /v1/marketplace/me``."""

    app_id: str | None
    organization_id: str | None
    scopes: tuple[str, ...] = field(default_factory=tuple)

    def missing(self, *required: str) -> list[str]:
        return [s for s in required if s not in self.scopes]


@dataclass(frozen=True)
class Target:
    """Where a photo goes. Bound to a queue item at queue time and never changed afterwards."""

    org_id: str
    note_id: str
    provider_id: str
    patient_label: str = ""  # e.g. "Doe, Jane (MRN 123, DOB 1980-01-02)"
    base_url: str = ""
