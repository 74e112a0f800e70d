"""Checks of the photos themselves against the chart they are about to join.

Two steps, so the slow part runs once per photo and off the GUI thread:

1. :func:`read_facts` reads what a photo says about itself (its capture time, the barcodes and
   QR codes on it). It runs when the photo is staged, before any target is known.
2. :func:`evaluate` compares those facts with the chosen note (the visit day in the facility's
   zone, the patient's MRN and id). It is cheap and runs again whenever the target changes.

The capture time comes from :mod:`maxupload.core.checks.capture_time`, the labels from
:mod:`maxupload.core.checks.labels` (which codes count as patient labels, and why, is described
there).

A finding's :class:`Severity` says what the upload path does with it: ``INFO`` is shown,
``HOLD`` keeps the photo back until the user acknowledges that code for this batch, and
``BLOCK`` refuses the photo for this target whatever the user says.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PIL import Image

from maxupload.core.api.models import Note, Patient
from maxupload.core.checks import capture_time, labels
from maxupload.core.imaging.formats import DEFAULT_MAX_PIXELS, ImageRejected, open_image

log = logging.getLogger(__name__)


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
    # (product symbologies such as EAN/UPC and GS1 data are not kept: see core.checks.labels)


@dataclass(frozen=True)
class Finding:
    code: CheckCode
    severity: Severity
    message: str  # plain words for the user, e.g. "Taken 2026-02-11, 37 days before this visit"
    captured_at: datetime | None = None
    label: str | None = None  # the patient identifier read from a label, when there was one


def read_facts(
    path: Path,
    *,
    image: Image.Image | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> PhotoFacts:
    """Read the capture time and decode patient labels from the photo at ``path``.

    ``image`` is a working copy already decoded from this file (any mode, long edge about
    :data:`labels.LABEL_EDGE`): codes are then decoded on it and only the header of the file is
    read. Slow (a decode and a barcode scan): call it from a worker, never the GUI thread. A
    file that cannot be read gives empty facts; intake and preparation report why.
    """
    try:
        im = open_image(str(path), max_pixels=max_pixels)
    except ImageRejected as exc:
        log.warning("photo checks skipped for an unreadable file: %s", exc.reason)
        return PhotoFacts()
    try:
        captured_at = capture_time.read_capture_time(im)
        if image is None:
            try:
                image = labels.working_copy(im)
            except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
                log.warning("label check skipped: the pixels cannot be decoded (%s)", exc)
                return PhotoFacts(captured_at=captured_at)
    finally:
        im.close()
    try:
        codes = tuple(labels.decode_codes(image))
    except (RuntimeError, ValueError, MemoryError) as exc:  # the scanner's own failures
        log.warning("label check skipped: the barcode scan failed (%s)", exc)
        codes = ()
    return PhotoFacts(captured_at=captured_at, codes=codes)


def _mrn_text(patient: Patient | None) -> str:
    if patient is None:
        return "an unknown patient"
    mrn = f"MRN {patient.mrn}" if patient.mrn else "no MRN"
    return f"{patient.display_name} ({mrn})"


def _label_findings(codes: tuple[str, ...], patient: Patient | None) -> list[Finding]:
    """One LABEL_MISMATCH when any identifier names someone else; else a LABEL_MATCH, if any.

    A wristband carries the same patient several times (a Code128 and a QR code with the MRN
    and the id): the mismatch is one finding, naming the other MRN(s), else the other id(s).
    """
    chart_mrn = patient.mrn if patient else None
    chart_id = patient.id if patient else None
    matched: labels.LabelId | None = None
    other_mrns: dict[str, str] = {}  # normalized -> as printed
    other_ids: list[str] = []
    for found in labels.label_ids(codes):
        if found.kind == "patient_id":
            if found.value == chart_id:
                matched = matched or found
            elif found.value not in other_ids:
                other_ids.append(found.value)
        elif chart_mrn and labels.same_mrn(found.value, chart_mrn):
            matched = matched or found
        elif found.explicit or (chart_mrn and labels.looks_like(found.value, chart_mrn)):
            other_mrns.setdefault(labels.normalize_mrn(found.value), found.value)
        # else: a bare word not shaped like this chart's MRN names nobody
    if other_mrns or other_ids:
        named = [f"MRN {m}" for m in other_mrns.values()] or [f"patient {i}" for i in other_ids]
        kind = "labels" if len(named) > 1 else "a label"
        message = (
            f"This photo shows {kind} for {' and '.join(named)}, but the note is for "
            f"{_mrn_text(patient)}"
        )
        first = next(iter(other_mrns.values()), None) or other_ids[0]
        return [Finding(CheckCode.LABEL_MISMATCH, Severity.BLOCK, message, label=first)]
    if matched is None:
        return []
    words = f"MRN {chart_mrn}" if chart_mrn else "this patient's id"
    return [
        Finding(CheckCode.LABEL_MATCH, Severity.INFO, f"Label matches {words}", label=matched.value)
    ]


def _date_finding(captured_at: datetime | None, note: Note) -> Finding | None:
    if captured_at is None:
        return Finding(CheckCode.NO_CAPTURE_TIME, Severity.INFO, "No capture time in this photo")
    compared = capture_time.days_from_visit(captured_at, note)
    if compared is None:
        return None  # a note without a visit date: nothing to compare with
    day, delta = compared
    if delta == 0:
        message = f"Taken {day.isoformat()}, the day of this visit"
        return Finding(CheckCode.SAME_DAY, Severity.INFO, message, captured_at=captured_at)
    message = capture_time.other_day_text(day, delta)
    return Finding(CheckCode.OTHER_DAY, Severity.HOLD, message, captured_at=captured_at)


def evaluate(facts: PhotoFacts, note: Note) -> list[Finding]:
    """The findings for a photo with ``facts`` going to ``note``: labels first, then the date.

    Cheap (no I/O): run it again whenever the target changes.
    """
    findings = _label_findings(facts.codes, note.patient)
    dated = _date_finding(facts.captured_at, note)
    if dated is not None:
        findings.append(dated)
    return findings


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
