"""Patient labels on photos: decode barcodes and QR codes, and read the patient identifiers.

Clinics photograph the patient's wristband or label sheet as the first picture of a series.
A label on a photo that names another patient means the series is on the wrong chart.

Which codes count (a product barcode on a dressing pack must never block a photo):

* **Symbology.** Only symbologies that patient labels and wristbands use are decoded: Code128,
  Code39, Code93, Codabar, QR (and Micro QR), DataMatrix, PDF417 and Aztec. Retail and logistics
  symbologies (EAN/UPC, ITF, DataBar) are not decoded at all, and a code carrying GS1 data
  (GS1-128, GS1 DataMatrix or QR: product numbers, lots, expiry dates) is dropped.
* **Content.** ``MRN:<mrn>`` (also ``MRN <mrn>``, ``MRN#<mrn>``), a patient id (``pat_...``) and
  a JSON object with ``mrn`` and/or ``patientId`` name a patient explicitly. A URL or any text
  with spaces names nobody.
* **Shape, for bare codes.** A code that is only a word of letters and digits (wristbands often
  carry the bare MRN) names a patient only when it has the shape of the chart's MRN: the same
  length with letters and digits in the same places ("MM0000000102" against "MM0000000101",
  "884512" against "102938"). Anything else (a lot number, a device serial) is ignored, and with
  no MRN on the chart a bare code is not compared at all.

The working copy: decoding runs on a greyscale copy whose long edge is LABEL_EDGE. Measured on
4032x3024 photos of a generated wristband label (3.5 x 1.1 in, Code128 at 0.25 mm modules plus
a QR code), rotated 0-8 degrees, softened by a 0.6-1.2 px blur and saved as JPEG q90: the QR
code reads at 1600 px and up whenever the label spans 20 % of the frame width or more; the
Code128 needs about 1.7 px per module, which at 2000 px means a label spanning 30 % of the
frame. A 12 MP JPEG (4032 px) decodes at half scale (2016 px) straight from its DCT data,
which costs a fraction of a full decode. Decoding releases Python's lock but still takes about
0.1 s: call it from a worker, never from the GUI thread.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image

#: Long edge (px) of the greyscale working copy that codes are decoded on (see the docstring).
LABEL_EDGE = 2000
#: A decoded image up to this much larger than LABEL_EDGE is used as it is (no resample).
_SLACK = 1.25

#: zxing-cpp format names decoded as patient labels; product symbologies are left out.
LABEL_FORMATS = "Code128,Code39,Code93,Codabar,QRCode,MicroQRCode,DataMatrix,PDF417,Aztec"

IdKind = Literal["mrn", "patient_id"]


@dataclass(frozen=True)
class LabelId:
    """One patient identifier read from a code.

    ``explicit`` is False for a bare word, which counts only when it has the chart MRN's shape.
    """

    kind: IdKind
    value: str
    explicit: bool = True


_MRN_PREFIX = re.compile(r"^\s*MRN\s*[:#=]?\s*([A-Za-z0-9][A-Za-z0-9\-]{1,31})\s*$", re.I)
_PATIENT_ID = re.compile(r"^\s*(pat_[A-Za-z0-9]{4,64})\s*$")
_BARE = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9\-]{2,31})\s*$")
_JSON_KEYS: dict[str, IdKind] = {
    "mrn": "mrn",
    "medicalrecordnumber": "mrn",
    "patientid": "patient_id",
    "patient_id": "patient_id",
}


def _json_ids(text: str) -> list[LabelId]:
    try:
        data: Any = json.loads(text)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    found = []
    for key, value in data.items():
        kind = _JSON_KEYS.get(str(key).lower())
        if kind and isinstance(value, (str, int)) and not isinstance(value, bool):
            text_value = str(value).strip()
            if text_value:
                found.append(LabelId(kind, text_value))
    return found


def identifiers(text: str) -> list[LabelId]:
    """The patient identifiers one decoded code carries (empty for anything else)."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _json_ids(stripped)
    for pattern, kind in ((_PATIENT_ID, "patient_id"), (_MRN_PREFIX, "mrn")):
        found = pattern.match(stripped)
        if found:
            return [LabelId(kind, found.group(1))]  # type: ignore[arg-type]
    bare = _BARE.match(stripped)
    if bare and not stripped.lower().startswith("pat_"):
        return [LabelId("mrn", bare.group(1), explicit=False)]
    return []


def normalize_mrn(value: str) -> str:
    """MRNs compare without case, spaces or dashes; an all-digit MRN also without leading zeros."""
    plain = re.sub(r"[\s\-]", "", value).upper()
    if plain.isdigit():
        return plain.lstrip("0") or "0"
    return plain


def same_mrn(a: str, b: str) -> bool:
    return normalize_mrn(a) == normalize_mrn(b)


def mrn_shape(value: str) -> str:
    """ "MM0000000101" -> "AA9999999999": letters and digits by position, for bare codes."""
    plain = re.sub(r"[\s\-]", "", value)
    return "".join("9" if c.isdigit() else "A" if c.isalpha() else c for c in plain)


def looks_like(bare: str, chart_mrn: str) -> bool:
    """True when a bare code has the chart MRN's shape (so it names some patient's MRN)."""
    return mrn_shape(bare) == mrn_shape(chart_mrn)


def working_copy(im: Image.Image, long_edge: int = LABEL_EDGE) -> Image.Image:
    """A greyscale copy of an opened (not yet loaded) image, long edge at most ``long_edge``.

    JPEGs decode straight to grey at a reduced DCT scale; the rest decode once and shrink with
    a box filter, which keeps bar edges as sharp as a smaller image can.
    """
    width, height = im.size
    scale = min(1.0, long_edge / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale < 1.0 and im.format in ("JPEG", "MPO"):
        im.draft("L", size)
    grey = im.convert("L") if im.mode != "L" else im.copy()
    if max(grey.size) > long_edge * _SLACK:
        grey = grey.resize(size, Image.Resampling.BOX)
    return grey


def decode_codes(image: Image.Image) -> list[str]:
    """Texts of the patient-label codes on ``image`` (GS1 product data dropped), in reading order.

    Slow (about 0.1 s on a 2000 px copy): run it on a worker thread.
    """
    import zxingcpp

    grey = image if image.mode == "L" else image.convert("L")
    found = zxingcpp.read_barcodes(
        grey,
        formats=zxingcpp.barcode_formats_from_str(LABEL_FORMATS),
        try_invert=False,  # printed labels are dark on light; skipping this halves the time
    )
    texts: list[str] = []
    for code in found:
        if code.content_type == zxingcpp.ContentType.GS1:
            continue
        text = code.text
        if code.format == zxingcpp.BarcodeFormat.Codabar and len(text) > 2:
            text = text[1:-1]  # Codabar's start and stop letters (A-D) are not data
        if text and text not in texts:
            texts.append(text)
    return texts


def label_ids(codes: Iterable[str]) -> list[LabelId]:
    """Every identifier the codes carry, each once, in order."""
    out: list[LabelId] = []
    for text in codes:
        for found in identifiers(text):
            if found not in out:
                out.append(found)
    return out
