"""When a photo was taken, from its EXIF, and which calendar day that is at the clinic.

Cameras and phones write ``DateTimeOriginal`` as local wall-clock time ("2026:03:20 18:30:00")
and, since EXIF 2.31, its UTC offset in ``OffsetTimeOriginal`` ("-07:00"). With the offset the
capture time is an aware datetime; without it, it is the camera's wall time (naive), which the
capture-date check takes as the facility's local time: the camera and the clinic are almost
always in the same place. ``DateTimeDigitized`` (with ``OffsetTimeDigitized``) stands in when
``DateTimeOriginal`` is missing; ``DateTime`` is not used, because editing apps rewrite it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from PIL import Image

from maxupload.core.api.models import Note
from maxupload.core.checks.visit_time import facility_zone, local_visit_date

EXIF_IFD = 0x8769
DATETIME_ORIGINAL, DATETIME_DIGITIZED = 0x9003, 0x9004
OFFSET_TIME_ORIGINAL, OFFSET_TIME_DIGITIZED = 0x9011, 0x9012

_STAMP = re.compile(r"^\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET = re.compile(r"^\s*([+-])(\d{2}):?(\d{2})\s*$")


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    if not isinstance(value, str):
        return None
    return value.strip("\x00 ") or None


def parse_offset(value: object) -> tzinfo | None:
    """``"-07:00"`` -> a fixed UTC offset; None for a missing or malformed value."""
    text = _text(value)
    found = _OFFSET.match(text) if text else None
    if not found:
        return None
    sign, hours, minutes = found.groups()
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    if delta > timedelta(hours=14):
        return None
    return timezone(-delta if sign == "-" else delta)


def parse_exif_datetime(value: object, offset: object = None) -> datetime | None:
    """An EXIF date ("2026:03:20 18:30:00") with its optional offset; None when not a real date.

    Blank stamps ("0000:00:00 00:00:00", spaces) are what cameras write when their clock was
    never set: they mean "unknown", not an error.
    """
    text = _text(value)
    found = _STAMP.match(text) if text else None
    if not found:
        return None
    try:
        year, month, day, hour, minute, second = (int(part) for part in found.groups())
        when = datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None
    zone = parse_offset(offset)
    return when.replace(tzinfo=zone) if zone else when


def read_capture_time(im: Image.Image) -> datetime | None:
    """The capture time recorded in an opened image's EXIF (JPEG, HEIC, PNG, WebP, TIFF)."""
    try:
        exif = im.getexif()
        sub = exif.get_ifd(EXIF_IFD)
    except Exception:  # damaged EXIF must not stop the photo; it only means "no capture time"
        return None
    for stamp_tag, offset_tag in (
        (DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL),
        (DATETIME_DIGITIZED, OFFSET_TIME_DIGITIZED),
    ):
        # Some writers put the Exif tags in IFD0; the Exif IFD is where the standard puts them.
        for where in (sub, exif):
            when = parse_exif_datetime(where.get(stamp_tag), where.get(offset_tag))
            if when is not None:
                return when
    return None


def capture_day(captured_at: datetime, note: Note) -> date:
    """The calendar day of a capture at the note's facility.

    An aware time is converted to the facility's zone (UTC when the zone is unknown, like the
    visit time); a naive one is already the local wall time and is taken as it is.
    """
    if captured_at.tzinfo is None:
        return captured_at.date()
    zone = facility_zone(note) or UTC
    return captured_at.astimezone(zone).date()


def days_from_visit(captured_at: datetime, note: Note) -> tuple[date, int] | None:
    """(capture day, days after the visit day; negative before), or None without a visit date."""
    visit_day = local_visit_date(note)
    if visit_day is None:
        return None
    day = capture_day(captured_at, note)
    return day, (day - visit_day).days


def other_day_text(day: date, delta_days: int) -> str:
    """ "Taken 2026-02-11, 37 days before this visit" (or "1 day after")."""
    count = abs(delta_days)
    unit = "day" if count == 1 else "days"
    side = "before" if delta_days < 0 else "after"
    return f"Taken {day.isoformat()}, {count} {unit} {side} this visit"
