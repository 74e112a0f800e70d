"""Visit times are shown in the facility's zone, so an evening visit keeps its day."""

from __future__ import annotations

from datetime import date

from maxupload.core.api.models import Facility, Note
from maxupload.core.checks.visit_time import local_visit_date, visit_text


def _note(visit: str | None, tz: str | None) -> Note:
    return Note(id="note_1", visit_date=visit, facility=Facility(id="fac", timezone=tz))


def test_evening_visit_in_los_angeles_keeps_its_day() -> None:
    note = _note("2026-03-21 02:30:00+00", "America/Los_Angeles")
    assert visit_text(note) == "2026-03-20 19:30 PDT"
    assert local_visit_date(note) == date(2026, 3, 20)


def test_winter_abbreviation_and_other_zone() -> None:
    assert visit_text(_note("2026-01-15 18:30:00+00", "America/Chicago")) == "2026-01-15 12:30 CST"


def test_missing_or_unknown_zone_is_shown_as_utc() -> None:
    assert visit_text(_note("2026-03-20 18:30:00+00", None)) == "2026-03-20 18:30 UTC"
    assert visit_text(_note("2026-03-20 18:30:00+00", "Not/AZone")) == "2026-03-20 18:30 UTC"


def test_unreadable_visit_date_is_shown_as_given() -> None:
    assert visit_text(_note("someday", "America/Chicago")) == "someday"
    assert visit_text(_note(None, "America/Chicago")) == "unknown date"
    assert local_visit_date(_note(None, None)) is None
