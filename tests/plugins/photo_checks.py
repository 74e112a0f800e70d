"""Real photo checks for the upload path's tests, independent of the product's own bodies.

Photos carry their facts in real EXIF written with Pillow: ``DateTimeOriginal`` (the capture
time) and ``ImageDescription`` holding a label text such as ``MRN:12345`` (standing in for a
decoded barcode). ``read_facts``/``evaluate`` below read and judge them with the same contract
as ``maxupload.core.checks``, so tests drive the service's plumbing with checks that can fail.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from PIL import Image

from maxupload.core.checks import CheckCode, Finding, PhotoFacts, Severity
from maxupload.core.models import Note
from tests.plugins.images import photo

_EXIF_IFD = 0x8769
_DATE_TIME_ORIGINAL = 0x9003
_IMAGE_DESCRIPTION = 0x010E


def write_checked_photo(
    path: Path, taken: datetime | None = None, label: str | None = None, seed: int = 1
) -> Path:
    """A JPEG whose EXIF says when it was taken and, optionally, what its label reads."""
    im = photo(320, 240, seed=seed)
    exif = Image.Exif()
    if label is not None:
        exif[_IMAGE_DESCRIPTION] = label
    if taken is not None:
        exif.get_ifd(_EXIF_IFD)[_DATE_TIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, "JPEG", quality=85, exif=exif)
    return path


def read_facts(path: Path) -> PhotoFacts:
    """Capture time and label text from the photo's EXIF."""
    with Image.open(path) as im:
        exif = im.getexif()
        raw = exif.get_ifd(_EXIF_IFD).get(_DATE_TIME_ORIGINAL)
        label = exif.get(_IMAGE_DESCRIPTION)
    taken = datetime.strptime(str(raw), "%Y:%m:%d %H:%M:%S") if raw else None
    return PhotoFacts(captured_at=taken, codes=(str(label),) if label else ())


def visit_day(note: Note) -> date:
    when = note.visit_datetime
    assert when is not None, "the test note has a visit date"
    return when.date()


def evaluate(facts: PhotoFacts, note: Note) -> list[Finding]:
    """Another day holds; a label naming another MRN blocks; the right MRN is a match."""
    out: list[Finding] = []
    if facts.captured_at is None:
        out.append(Finding(CheckCode.NO_CAPTURE_TIME, Severity.INFO, "No capture time."))
    else:
        days = (visit_day(note) - facts.captured_at.date()).days
        if days:
            out.append(
                Finding(
                    CheckCode.OTHER_DAY,
                    Severity.HOLD,
                    f"Taken {facts.captured_at.date()}, {abs(days)} days "
                    f"{'before' if days > 0 else 'after'} this visit",
                    captured_at=facts.captured_at,
                )
            )
    mrn = note.patient.mrn if note.patient else None
    for code in facts.codes:
        if not code.startswith("MRN:"):
            continue
        label = code.removeprefix("MRN:")
        if label == mrn:
            out.append(
                Finding(
                    CheckCode.LABEL_MATCH, Severity.INFO, f"Label matches MRN {label}", label=label
                )
            )
        else:
            out.append(
                Finding(
                    CheckCode.LABEL_MISMATCH,
                    Severity.BLOCK,
                    f"The label on this photo reads MRN {label}; this patient's MRN is {mrn}",
                    label=label,
                )
            )
    return out
