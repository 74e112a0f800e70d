"""The photo-against-chart checks: capture day against the visit day, labels against the MRN.

``evaluate`` is tested on facts as ``read_facts`` returns them; ``read_facts`` on real files
(JPEG, HEIC, PNG, WebP, TIFF) with EXIF dates written by Pillow and codes drawn by zxing-cpp,
pasted into generated photos, turned a little and decoded from the downscaled working copy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from maxupload.core.api.models import Facility, Note, Patient
from maxupload.core.checks import labels
from maxupload.core.checks.photo import (
    CheckCode,
    PhotoFacts,
    Severity,
    evaluate,
    held_or_blocked,
    read_facts,
)
from maxupload.core.imaging.formats import open_image
from maxupload.sandbox.demo_data import build_demo_data
from tests.plugins.label_photos import code_sticker, patient_label, save_photo, scene

LA = "America/Los_Angeles"
RIVERA = Patient(id="pat_rivera0001", first_name="Elena", last_name="Rivera", mrn="102938")
PDT = timezone(timedelta(hours=-7))


def _note(
    visit: str = "2026-03-20 18:30:00+00", tz: str | None = LA, patient: Patient = RIVERA
) -> Note:
    return Note(id="nte_1", visit_date=visit, patient=patient, facility=Facility("fac", "", tz))


def _codes(*codes: str) -> list[tuple[CheckCode, Severity, str]]:
    return [(f.code, f.severity, f.message) for f in evaluate(PhotoFacts(codes=codes), _note())][
        :-1
    ]  # the last finding is NO_CAPTURE_TIME: these facts carry no date


# --- capture day ----------------------------------------------------------------------------


def test_photo_from_another_day_is_held_with_the_distance_in_days() -> None:
    facts = PhotoFacts(captured_at=datetime(2026, 2, 11, 10, 0))
    [finding] = evaluate(facts, _note())
    assert (finding.code, finding.severity) == (CheckCode.OTHER_DAY, Severity.HOLD)
    assert finding.message == "Taken 2026-02-11, 37 days before this visit"
    assert finding.captured_at == facts.captured_at
    assert held_or_blocked([finding]) == [finding]
    assert held_or_blocked([finding], frozenset({CheckCode.OTHER_DAY})) == []


def test_photo_taken_after_the_visit_says_after_and_counts_one_day_in_the_singular() -> None:
    [finding] = evaluate(PhotoFacts(captured_at=datetime(2026, 3, 21, 8, 0)), _note())
    assert finding.message == "Taken 2026-03-21, 1 day after this visit"
    assert finding.severity is Severity.HOLD


def test_photo_from_the_visit_day_is_information_only() -> None:
    [finding] = evaluate(PhotoFacts(captured_at=datetime(2026, 3, 20, 9, 5)), _note())
    assert (finding.code, finding.severity) == (CheckCode.SAME_DAY, Severity.INFO)
    assert held_or_blocked([finding]) == []


def test_photo_without_capture_time_says_so_and_is_not_held() -> None:
    [finding] = evaluate(PhotoFacts(), _note())
    assert (finding.code, finding.severity) == (CheckCode.NO_CAPTURE_TIME, Severity.INFO)
    assert finding.message == "No capture time in this photo"
    assert held_or_blocked([finding]) == []


def test_evening_capture_in_los_angeles_is_the_visit_day_although_utc_is_the_next_day() -> None:
    evening = datetime(2026, 3, 20, 19, 45, tzinfo=PDT)  # 2026-03-21 02:45 UTC
    assert evening.astimezone(UTC).date().day == 21
    for captured in (evening, evening.astimezone(UTC)):
        [finding] = evaluate(PhotoFacts(captured_at=captured), _note())
        assert finding.code is CheckCode.SAME_DAY, captured
    # ... and the same instant is the next day for a clinic in UTC.
    [utc_clinic] = evaluate(PhotoFacts(captured_at=evening), _note(tz="UTC"))
    assert utc_clinic.code is CheckCode.OTHER_DAY


def test_evening_visit_that_is_tomorrow_in_utc_compares_with_the_local_day() -> None:
    note = _note("2026-03-21 02:30:00+00")  # 19:30 PDT on the 20th
    [naive] = evaluate(PhotoFacts(captured_at=datetime(2026, 3, 20, 19, 0)), note)
    assert naive.code is CheckCode.SAME_DAY
    [next_morning] = evaluate(PhotoFacts(captured_at=datetime(2026, 3, 21, 8, 0)), note)
    assert next_morning.code is CheckCode.OTHER_DAY


def test_naive_capture_time_is_the_clinics_wall_time_not_utc() -> None:
    late = datetime(2026, 3, 20, 23, 30)  # no offset recorded: 23:30 at the clinic
    [finding] = evaluate(PhotoFacts(captured_at=late), _note())
    assert finding.code is CheckCode.SAME_DAY


def test_note_without_a_visit_date_gives_no_date_finding() -> None:
    note = Note(id="nte_2", patient=RIVERA)
    assert evaluate(PhotoFacts(captured_at=datetime(2026, 3, 20, 9, 0)), note) == []


# --- labels ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["102938", "MRN:102938", "MRN 102938", "mrn#0102938", '{"mrn": "102938"}', '{"mrn": 102938}'],
)
def test_label_naming_this_patients_mrn_matches(code: str) -> None:
    assert _codes(code) == [(CheckCode.LABEL_MATCH, Severity.INFO, "Label matches MRN 102938")]


def test_patient_id_label_matches_or_blocks() -> None:
    assert _codes("pat_rivera0001")[0][:2] == (CheckCode.LABEL_MATCH, Severity.INFO)
    assert _codes('{"patientId": "pat_rivera0001"}')[0][0] is CheckCode.LABEL_MATCH
    [(code, severity, message)] = _codes("pat_okafor0002")
    assert (code, severity) == (CheckCode.LABEL_MISMATCH, Severity.BLOCK)
    assert message.startswith(
        "This photo shows a label for patient pat_okafor0002, but the note is for "
        "Rivera, Elena (MRN 102938)"
    )


@pytest.mark.parametrize("code", ["884512", "MRN:884512", '{"mrn": "884512", "name": "X"}'])
def test_label_naming_another_mrn_blocks_naming_both(code: str) -> None:
    facts = PhotoFacts(captured_at=datetime(2026, 3, 20, 9, 0), codes=(code,))
    findings = evaluate(facts, _note())
    assert [f.code for f in findings] == [CheckCode.LABEL_MISMATCH, CheckCode.SAME_DAY]
    blocked = findings[0]
    assert blocked.severity is Severity.BLOCK and blocked.label == "884512"
    assert blocked.message.startswith(
        "This photo shows a label for MRN 884512, but the note is for Rivera, Elena (MRN 102938)"
    )
    # A block stays whatever is acknowledged.
    everything = frozenset(CheckCode)
    assert held_or_blocked(findings, everything) == [blocked]


def test_json_label_naming_this_mrn_but_another_patient_id_blocks() -> None:
    [(code, _, message)] = _codes('{"mrn": "102938", "patientId": "pat_okafor0002"}')
    assert code is CheckCode.LABEL_MISMATCH and "pat_okafor0002" in message


@pytest.mark.parametrize(
    "code",
    [
        "https://example.org/product/102939",  # a URL
        "LOT 2025-11 A",  # text with spaces
        "(01)09501101530003(17)261231(10)LOT42",  # GS1 product data as plain text
        "4006381333931",  # a 13-digit number: not shaped like a 6-digit MRN
        "AB1234",  # letters where the MRN has digits
        '["102939"]',  # JSON that is not an object
        '{"sku": "102939"}',  # JSON without a patient key
    ],
)
def test_codes_that_name_no_patient_are_ignored(code: str) -> None:
    assert _codes(code) == []


def test_bare_code_shaped_like_the_demo_mrns_blocks_another_demo_patient() -> None:
    demo = Patient(id="pat_x", first_name="Elena", last_name="Rivera", mrn="MM0000000101")
    [finding, _] = evaluate(PhotoFacts(codes=("MM0000000102",)), _note(patient=demo))
    assert finding.code is CheckCode.LABEL_MISMATCH
    assert "MRN MM0000000102" in finding.message and "(MRN MM0000000101)" in finding.message


def test_chart_without_mrn_ignores_bare_codes_but_not_explicit_ones() -> None:
    nobody = Patient(id="pat_k", first_name="Peter", last_name="Kowalski")
    assert evaluate(PhotoFacts(codes=("884512",)), _note(patient=nobody))[:-1] == []
    [finding, _] = evaluate(PhotoFacts(codes=("MRN:884512",)), _note(patient=nobody))
    assert finding.code is CheckCode.LABEL_MISMATCH and "(no MRN)" in finding.message


def test_a_mismatch_on_the_photo_wins_over_a_match() -> None:
    findings = _codes("102938", "MRN:884512")
    assert [c for c, _, _ in findings] == [CheckCode.LABEL_MISMATCH]


def test_labels_of_two_other_patients_are_named_in_one_finding() -> None:
    [(code, _, message)] = _codes("MRN:884512", '{"mrn": "884512"}', "MRN:777001", "pat_zz001")
    assert code is CheckCode.LABEL_MISMATCH
    assert message.startswith("This photo shows labels for MRN 884512 and MRN 777001, but")


# --- read_facts on real files -----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_patients() -> list[dict[str, object]]:
    return build_demo_data().patients


def test_phone_jpeg_with_orientation_label_and_offset_is_read(
    tmp_path: Path, demo_patients: list[dict[str, object]]
) -> None:
    rivera, okafor = demo_patients[0], demo_patients[1]
    picture = scene([patient_label(okafor)], span=0.45, angle=5)
    path = save_photo(
        tmp_path / "IMG_0001.JPG",
        picture,
        taken="2026:03:20 19:45:00",
        offset="-07:00",
        orientation=6,
    )
    facts = read_facts(path)
    assert facts.captured_at == datetime(2026, 3, 20, 19, 45, tzinfo=PDT)
    assert str(okafor["mrn"]) in facts.codes  # the Code128 (bare MRN)
    assert any(c.startswith("{") and str(okafor["id"]) in c for c in facts.codes)  # the QR
    patient = Patient(str(rivera["id"]), "Elena", "Rivera", mrn=str(rivera["mrn"]))
    findings = evaluate(facts, _note(patient=patient))
    # Code128 and QR name Okafor three times (MRN twice, id once): one finding says so.
    assert [f.code for f in findings] == [CheckCode.LABEL_MISMATCH, CheckCode.SAME_DAY]
    assert findings[0].message.startswith(
        f"This photo shows a label for MRN {okafor['mrn']}, but the note is for Rivera, Elena "
        f"(MRN {rivera['mrn']})"
    )
    assert findings[-1].code is CheckCode.SAME_DAY  # 02:45 UTC on the 21st, evening in LA


def test_matching_label_with_two_codes_gives_one_match(
    tmp_path: Path, demo_patients: list[dict[str, object]]
) -> None:
    rivera = demo_patients[0]
    path = save_photo(tmp_path / "wrist.jpg", scene([patient_label(rivera)], span=0.45))
    facts = read_facts(path)
    assert len(facts.codes) == 2
    patient = Patient(str(rivera["id"]), "Elena", "Rivera", mrn=str(rivera["mrn"]))
    findings = evaluate(facts, _note(patient=patient))
    assert [(f.code, f.message) for f in findings] == [
        (CheckCode.LABEL_MATCH, f"Label matches MRN {rivera['mrn']}"),
        (CheckCode.NO_CAPTURE_TIME, "No capture time in this photo"),
    ]


def test_photo_with_two_patients_codes_blocks(tmp_path: Path) -> None:
    stickers = [code_sticker("MRN:102938", "qr", 8), code_sticker("pat_okafor0002", "code128", 4)]
    path = save_photo(tmp_path / "sheet.jpg", scene(stickers, span=0.3))
    facts = read_facts(path)
    assert set(facts.codes) == {"MRN:102938", "pat_okafor0002"}
    [blocked, _] = evaluate(facts, _note())
    assert blocked.code is CheckCode.LABEL_MISMATCH and blocked.label == "pat_okafor0002"


def test_codabar_and_code39_wristbands_carry_the_bare_mrn(tmp_path: Path) -> None:
    stickers = [code_sticker("A102938B", "codabar", 4), code_sticker("102938", "code39", 4)]
    path = save_photo(tmp_path / "older-band.jpg", scene(stickers, span=0.3))
    facts = read_facts(path)
    assert facts.codes == ("102938",)  # Codabar's start/stop letters dropped; one text once
    assert evaluate(facts, _note())[0].message == "Label matches MRN 102938"


def test_product_barcodes_are_ignored(tmp_path: Path) -> None:
    stickers = [code_sticker("4006381333931", "ean13", 5), code_sticker("036000291452", "upca", 5)]
    path = save_photo(
        tmp_path / "dressing.jpg", scene(stickers, span=0.3), taken="2026:03:20 10:00:00"
    )
    facts = read_facts(path)
    assert facts.codes == ()
    assert [f.code for f in evaluate(facts, _note())] == [CheckCode.SAME_DAY]


def test_json_qr_and_patient_id_code128_are_read(tmp_path: Path) -> None:
    stickers = [
        code_sticker('{"mrn":"884512"}', "qr", 8),
        code_sticker("pat_rivera0001", "code128"),
    ]
    path = save_photo(tmp_path / "codes.png", scene(stickers, span=0.3, angle=-3))
    facts = read_facts(path)
    assert set(facts.codes) == {'{"mrn":"884512"}', "pat_rivera0001"}
    codes = [f.code for f in evaluate(facts, _note())]
    assert codes == [CheckCode.LABEL_MISMATCH, CheckCode.NO_CAPTURE_TIME]


def test_reusing_a_working_copy_reads_the_same_facts(tmp_path: Path) -> None:
    picture = scene([code_sticker("MRN:102938", "qr", 8)], span=0.3)
    path = save_photo(tmp_path / "a.jpg", picture, taken="2026:03:19 08:00:00")
    with open_image(str(path)) as im:
        copy = labels.working_copy(im)
    assert max(copy.size) <= labels.LABEL_EDGE * 1.25 and copy.mode == "L"
    assert read_facts(path, image=copy) == read_facts(path)
    assert read_facts(path).codes == ("MRN:102938",)


@pytest.mark.parametrize("suffix", [".heic", ".png", ".webp", ".tif"])
def test_capture_time_is_read_from_heic_png_webp_and_tiff(tmp_path: Path, suffix: str) -> None:
    path = save_photo(
        tmp_path / f"photo{suffix}",
        Image.new("RGB", (320, 240), (180, 140, 120)),
        taken="2026:02:11 14:05:09",
        offset="+01:00",
    )
    facts = read_facts(path)
    assert facts.captured_at == datetime(2026, 2, 11, 14, 5, 9, tzinfo=timezone(timedelta(hours=1)))
    [finding] = evaluate(facts, _note())
    assert finding.message == "Taken 2026-02-11, 37 days before this visit"


def test_heic_with_label_and_naive_date(tmp_path: Path) -> None:
    picture = scene([code_sticker("MRN:884512", "qr", 8)], size=(2000, 1500), span=0.3)
    path = save_photo(tmp_path / "IMG_0002.HEIC", picture, taken="2026:03:20 08:15:00")
    facts = read_facts(path)
    assert facts == PhotoFacts(captured_at=datetime(2026, 3, 20, 8, 15), codes=("MRN:884512",))


@pytest.mark.parametrize(
    "stamp", [None, "0000:00:00 00:00:00", "    :  :     :  :  ", "2026:13:45 99:00:00"]
)
def test_missing_or_blank_capture_time_reads_as_none(tmp_path: Path, stamp: str | None) -> None:
    path = save_photo(tmp_path / "p.jpg", Image.new("RGB", (64, 48)), taken=stamp, offset="+02:00")
    assert read_facts(path).captured_at is None


def test_unreadable_file_gives_empty_facts(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("not a photo", encoding="utf-8")
    assert read_facts(path) == PhotoFacts()
