"""Checks of the photos themselves against the chart they are about to join.

Two steps, so the slow part runs once per photo and off the GUI thread:

1. :func:`read_facts` reads what a photo says about itself (its capture time, the barcodes and
   QR codes on it). It runs when the photo is staged, before any target is known.
2. :func:`evaluate` compares those facts with the chosen note (the visit day in the facility's
   zone, the patient's MRN and id). It is cheap and runs again whenever the target changes.

A finding's :class:`Severity` says what the upload path does with it: ``INFO`` is shown,
``HOLD`` keeps the photo back until the user acknowledges that code for this batch, and
``BLOCK`` refuses the photo for this target whatever the user says.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from maxupload.core.models import Note


class CheckCode(enum.StrEnum):
    """Why a photo was flagged; tests and the command line's JSON assert on these."""

    SAME_DAY = "same_day"  # INFO: taken on the visit day
    OTHER_DAY = "other_day"  # HOLD: taken on another day than the visit
    NO_CAPTURE_TIME = "no_capture_time"  # INFO: the photo carries no capture time
    LABEL_MATCH = "label_match"  # INFO: a patient label on the photo names this patient
    LABEL_MISMATCH = "label_mismatch"  # BLOCK: a patient label names another patient


class Severity(enum.StrEnum):
    INFO = "info"
    HOLD = "hold"
    BLOCK = "block"


@dataclass(frozen=True)
class PhotoFacts:
    """What one photo says about itself, read once when it is staged."""

    captured_at: datetime | None = None  # aware when the photo records its UTC offset
    codes: tuple[str, ...] = ()  # texts of the barcodes and QR codes found on it


@dataclass(frozen=True)
class Finding:
    code: CheckCode
    severity: Severity
    message: str  # plain words for the user, e.g. "Taken 2026-02-11, 37 days before this visit"
    captured_at: datetime | None = None
    label: str | None = None  # the patient identifier read from a label, when there was one


def read_facts(path: Path) -> PhotoFacts:
    """Read the capture time and decode patient labels from the photo at ``path``."""
    return PhotoFacts()


def evaluate(facts: PhotoFacts, note: Note) -> list[Finding]:
    """The findings for a photo with ``facts`` going to ``note``; empty when nothing to say."""
    return []


def held_or_blocked(
    findings: list[Finding], acknowledged: frozenset[CheckCode] = frozenset()
) -> list[Finding]:
    """The findings that stop a photo: every BLOCK, and each HOLD not acknowledged."""
    return [
        f
        for f in findings
        if f.severity is Severity.BLOCK
        or (f.severity is Severity.HOLD and f.code not in acknowledged)
    ]
