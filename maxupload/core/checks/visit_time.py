"""Visit times as the clinic reads them: in the facility's own time zone, with its abbreviation.

The API gives ``visitDate`` in UTC and the facility's IANA ``timezone`` beside it. An evening
visit in Los Angeles is the next day in UTC, so every front end shows visit times through
:func:`local_visit_time` and :func:`visit_text`, never the raw value.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from maxupload.core.api.models import Note


def facility_zone(note: Note) -> tzinfo | None:
    """The note's facility time zone, or None when the API gave none or an unknown one."""
    name = note.facility.timezone if note.facility else None
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def local_visit_time(note: Note) -> datetime | None:
    """The visit time in the facility's zone (in UTC when the zone is unknown), or None."""
    when = note.visit_datetime
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(facility_zone(note) or UTC)


def local_visit_date(note: Note) -> date | None:
    """The calendar day of the visit at the facility, the day the capture-date check compares."""
    when = local_visit_time(note)
    return when.date() if when else None


def visit_text(note: Note, *, unknown: str = "unknown date") -> str:
    """ "2026-03-20 11:30 PDT": date, time and the zone's abbreviation, no seconds."""
    when = local_visit_time(note)
    if when is None:
        return note.visit_date or unknown
    return f"{when:%Y-%m-%d %H:%M} {when.tzname() or 'UTC'}"
