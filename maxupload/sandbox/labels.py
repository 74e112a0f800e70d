"""Printable patient labels for the demo clinic: wristband-like PNGs with a Code128 and a QR code.

Clinics photograph the patient's wristband or label sheet as the first picture of a series, and
MaxUpload checks such labels against the chart. These labels let the demo (and the tests, and
the screenshots) show that check with the demo patients. They are drawn at run time, never
stored: Pillow draws the text, zxing-cpp draws the codes.

What a label carries, as real wristband printers do: the Code128 holds the bare MRN, the QR
code a small JSON object ``{"mrn": ..., "patientId": ...}``. A patient without an MRN gets a
label whose QR code names the patient id only. Nothing here imports MaxUpload's core: the label
is printed the way a clinic's printer would, and the core reads it like any other photo.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw, ImageFont

from maxupload.sandbox.replies import Reply, json_reply

if TYPE_CHECKING:
    from maxupload.sandbox.demo_data import DemoData

#: Label size at 300 dpi: 3.5 x 1.1 inches, a common wristband label.
LABEL_SIZE = (1050, 330)
#: Pixels per barcode module at 300 dpi (0.25 mm, a usual X-dimension for wristbands).
CODE128_MODULE_PX = 3
QR_MODULE_PX = 6
_INK = (20, 20, 20)
_PAPER = (255, 255, 255)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def code_image(content: str, kind: str, module_px: int) -> Image.Image:
    """A barcode (``kind`` "code128", "qr", "ean13", ...) as a greyscale image with quiet zones."""
    import zxingcpp

    formats = {
        "code128": zxingcpp.BarcodeFormat.Code128,
        "qr": zxingcpp.BarcodeFormat.QRCode,
        "ean13": zxingcpp.BarcodeFormat.EAN13,
        "upca": zxingcpp.BarcodeFormat.UPCA,
        "datamatrix": zxingcpp.BarcodeFormat.DataMatrix,
        "codabar": zxingcpp.BarcodeFormat.Codabar,
        "code39": zxingcpp.BarcodeFormat.Code39,
    }
    drawn = zxingcpp.create_barcode(content, formats[kind]).to_image(scale=1)
    view = memoryview(drawn)  # type: ignore[arg-type]  # zxingcpp.Image has the buffer protocol
    height, width = view.shape[0], view.shape[1]
    image = Image.frombytes("L", (width, height), view.tobytes())
    return image.resize((width * module_px, height * module_px), Image.Resampling.NEAREST)


def qr_payload(mrn: str | None, patient_id: str | None) -> str:
    """The QR code's JSON: ``{"mrn": ..., "patientId": ...}`` with the values the label has."""
    data = {k: v for k, v in (("mrn", mrn), ("patientId", patient_id)) if v}
    return json.dumps(data, separators=(",", ":"))


def render_label(
    *,
    name: str,
    date_of_birth: str | None,
    mrn: str | None,
    patient_id: str | None,
    gender: str | None = None,
) -> Image.Image:
    """One wristband-like label (RGB, 300 dpi): name, date of birth, MRN, Code128 and QR."""
    label = Image.new("RGB", LABEL_SIZE, _PAPER)
    draw = ImageDraw.Draw(label)
    draw.rounded_rectangle(
        (2, 2, LABEL_SIZE[0] - 3, LABEL_SIZE[1] - 3), radius=28, outline=(150, 150, 150), width=3
    )
    x = 36
    draw.text((x, 24), name.upper(), fill=_INK, font=_font(46))
    sex = f"   {gender[0].upper()}" if gender else ""
    draw.text((x, 82), f"DOB {date_of_birth or 'unknown'}{sex}", fill=_INK, font=_font(32))
    draw.text((x, 122), f"MRN {mrn or 'none'}", fill=_INK, font=_font(32))
    if mrn:
        bars = code_image(mrn, "code128", CODE128_MODULE_PX)
        bars = bars.resize((bars.width, 110))  # taller bars; the modules keep their width
        label.paste(bars.convert("RGB"), (x - 10 * CODE128_MODULE_PX + 6, 172))
    qr = code_image(qr_payload(mrn, patient_id), "qr", QR_MODULE_PX)
    if qr.height > LABEL_SIZE[1] - 30:
        side = LABEL_SIZE[1] - 30
        qr = qr.resize((side, side), Image.Resampling.NEAREST)
    label.paste(
        qr.convert("RGB"), (LABEL_SIZE[0] - qr.width - 24, (LABEL_SIZE[1] - qr.height) // 2)
    )
    return label


def label_for(patient: Mapping[str, Any]) -> Image.Image:
    """The label of one patient as the API shows it (camelCase dict)."""
    name = f"{patient.get('lastName', '')}, {patient.get('firstName', '')}".strip(", ")
    return render_label(
        name=name,
        date_of_birth=patient.get("dateOfBirth"),
        mrn=patient.get("mrn"),
        patient_id=patient.get("id"),
        gender=patient.get("gender"),
    )


def label_file_name(patient: Mapping[str, Any]) -> str:
    """``label-rivera-elena.png``: the patient's name, lower case, safe for any file system."""
    name = f"{patient.get('lastName', '')}-{patient.get('firstName', '')}".lower()
    return "label-" + (re.sub(r"[^a-z0-9]+", "-", name).strip("-") or "patient") + ".png"


def write_labels(patients: Iterable[Mapping[str, Any]], folder: Path) -> list[Path]:
    """Write one label PNG per patient into ``folder`` (created if needed); returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for patient in patients:
        path = folder / label_file_name(patient)
        label_for(patient).save(path, "PNG", dpi=(300, 300))
        written.append(path)
    return written


def write_demo_labels(folder: Path) -> list[Path]:
    """The labels of the demo clinic's patients (both clinics), written into ``folder``."""
    from maxupload.sandbox.demo_data import build_demo_data

    return write_labels(build_demo_data().patients, folder)


def label_index(demo: DemoData, root_url: str) -> list[dict[str, Any]]:
    """``GET /_sandbox/labels``: each demo patient's label, by patient id, with its address."""
    return [
        {
            "patientId": p["id"],
            "mrn": p.get("mrn"),
            "name": f"{p.get('lastName', '')}, {p.get('firstName', '')}",
            "url": f"{root_url}/_sandbox/labels/{p['id']}.png",
            "fileName": label_file_name(p),
        }
        for p in demo.patients
    ]


def label_reply(demo: DemoData, name: str) -> Reply:
    """``GET /_sandbox/labels/<patientId>.png``: the label PNG, drawn for this request."""
    patient = demo.patient(name.removesuffix(".png")) if name.endswith(".png") else None
    if patient is None:
        return json_reply(404, {"error": f"no demo patient label {name!r}"})
    out = io.BytesIO()
    label_for(patient).save(out, "PNG", dpi=(300, 300))
    return Reply(200, out.getvalue(), "image/png")
