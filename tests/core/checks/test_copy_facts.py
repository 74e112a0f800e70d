"""The photo checks read from the prepared copy (``maxupload upload``): the same facts as a scan
of the photo itself, on real label photos, with one decode per photo for checks and upload, and
another patient's label still stopped before anything is sent."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.checks import photo as checks
from maxupload.core.checks.copy_facts import facts_from_copies, map_parallel, scans_prepared_copy
from maxupload.core.checks.photo import CheckCode, read_facts
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.intake import scan
from maxupload.core.queue.model import ItemState
from maxupload.core.uploads import UploadService
from maxupload.sandbox.demo_data import build_demo_data
from tests.core.engine.test_engine import Harness, harness  # noqa: F401  (the engine's fixture)
from tests.core.imaging.test_decode_once import DecodeCounter
from tests.plugins.label_photos import code_sticker, patient_label, save_photo, scene

pytest.importorskip("zxingcpp")

DEMO = build_demo_data()
OKAFOR = DEMO.patients[1]


def _photos(folder: Path) -> list[Path]:
    """Label photos as clinics take them: a turned phone photo of a wristband, several codes on
    a sheet, older wristband symbologies, product barcodes, a PNG, and a 12 MP photo whose label
    spans 30 % of the frame (the smallest the scan is specified to read at 2000 px)."""
    return [
        save_photo(
            folder / "IMG_0001.JPG",
            scene([patient_label(OKAFOR)], span=0.45, angle=5),
            taken="2026:03:20 19:45:00",
            offset="-07:00",
            orientation=6,
        ),
        save_photo(
            folder / "sheet.jpg",
            scene(
                [code_sticker("MRN:102938", "qr", 8), code_sticker("pat_okafor0002", "code128", 4)],
                span=0.3,
            ),
        ),
        save_photo(
            folder / "band.jpg",
            scene(
                [code_sticker("A102938B", "codabar", 4), code_sticker("102938", "code39", 4)],
                span=0.3,
            ),
        ),
        save_photo(
            folder / "dressing.jpg",
            scene([code_sticker("4006381333931", "ean13", 5)], span=0.3),
            taken="2026:03:20 10:00:00",
        ),
        save_photo(
            folder / "codes.png",
            scene([code_sticker('{"mrn":"884512"}', "qr", 8)], span=0.3, angle=-3),
        ),
        save_photo(
            folder / "IMG_0002.JPG",
            scene([patient_label(OKAFOR)], size=(4032, 3024), span=0.3, angle=3),
            orientation=6,
        ),
    ]


@pytest.fixture(scope="module")
def label_photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _photos(tmp_path_factory.mktemp("labels"))


@pytest.mark.parametrize("preset", ["standard", "high", "original"])
def test_sharing_the_preparation_decode_gives_the_same_facts_as_a_scan_of_its_own(
    label_photos: list[Path], tmp_path: Path, preset: str
) -> None:
    copies = PreparedCopies(tmp_path / "copies")
    read = facts_from_copies(copies, preset)
    for path in label_photos:
        mine, theirs = read(path), read_facts(path)
        assert mine.captured_at == theirs.captured_at, path.name
        assert set(mine.codes) == set(theirs.codes), path.name
        assert copies.size(path, preset) is not None, path.name  # made once, for the upload
    assert str(OKAFOR["mrn"]) in read(label_photos[-1]).codes  # 30 % span at 12 MP


def test_a_preset_smaller_than_the_scan_needs_scans_the_photo_itself(tmp_path: Path) -> None:
    assert not scans_prepared_copy("small") and not scans_prepared_copy("custom:1600:85")
    assert scans_prepared_copy("standard") and scans_prepared_copy("original")
    copies = PreparedCopies(tmp_path / "copies")
    assert facts_from_copies(copies, "small") is checks.read_facts  # no small copy to scan


def test_an_unreadable_photo_gives_empty_facts(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a photo")
    read = facts_from_copies(PreparedCopies(tmp_path / "copies"), "standard")
    assert read(broken) == checks.PhotoFacts()


def test_parallel_reads_keep_the_order_and_raise_the_first_error() -> None:
    seen: set[str] = set()

    def name(n: int) -> int:
        seen.add(threading.current_thread().name)
        return n * n

    assert map_parallel(name, list(range(20)), workers=3) == [n * n for n in range(20)]
    assert map_parallel(name, [], workers=3) == []

    def fail(n: int) -> int:
        if n == 3:
            raise ValueError("three")
        return n

    with pytest.raises(ValueError, match="three"):
        map_parallel(fail, list(range(6)), workers=2)


def test_checks_and_upload_decode_each_photo_once_and_a_wrong_label_is_never_sent(
    harness: Harness,  # noqa: F811  (the fixture imported above)
    label_photos: list[Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As ``maxupload upload`` runs it: stage with the copy-reading checks, submit, send."""
    wrong_label = label_photos[0]  # Okafor's wristband; the open note is Rivera's
    plain = [
        save_photo(tmp_path / f"wound-{n}.jpg", scene([], size=(3000, 2250), seed=n))
        for n in range(3)
    ]
    srv = harness.srv
    with ApiClient(srv.base_url, srv.demo.api_key, srv.demo.org_id) as client:
        note = UploadService.open_note(client, srv.demo.open_note_id)
    accepted = scan([wrong_label, *plain]).unique
    counter = DecodeCounter(monkeypatch)
    engine = harness.engine(copies=PreparedCopies(tmp_path / "copies"))
    service = UploadService(
        harness.store, engine, read_facts=facts_from_copies(engine.copies, "standard")
    )
    staged = service.stage_accepted(accepted)
    assert counter.count() == 4, counter.decodes  # one decode per photo, checks included
    result = service.submit(
        [s.id for s in staged],
        note,
        provider_id=srv.demo.provider_id,
        preset="standard",
        base_url=srv.base_url,
        org_id=srv.demo.org_id,
        acknowledged=frozenset({CheckCode.OTHER_DAY}),
    )
    assert [s.path for s in result.stopped] == [wrong_label]
    assert result.stopped[0].findings[0].code is CheckCode.LABEL_MISMATCH
    assert engine.wait_idle(timeout=60)
    sent = harness.store.items(ids=result.run)
    assert [i.state for i in sent] == [ItemState.VERIFIED] * 3
    assert counter.count() == 4, counter.decodes  # the upload used the copies the checks made
    assert len(srv.uploads()) == 3
