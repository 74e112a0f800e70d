"""The upload service both front ends use, against the real sandbox, queue file and engine.

The photos carry real EXIF capture times and real barcodes (``tests.plugins.photo_checks``),
judged by the product's own checks: the tests fail when the plumbing drops a finding.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from maxupload.core.api.client import ApiClient, RetryPolicy
from maxupload.core.api.errors import NoteLocked
from maxupload.core.api.models import Note, Target
from maxupload.core.api.ratelimit import RateGate
from maxupload.core.checks.photo import CheckCode
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.outcomes import Action, OutcomeKind
from maxupload.core.queue.model import ItemState
from maxupload.core.queue.store import QueueStore
from maxupload.core.uploads import UploadService, patient_label, snapshot, target_label
from maxupload.sandbox import SandboxServer
from tests.plugins.photo_checks import write_checked_photo

FAST = RetryPolicy(base_delay=0.05, max_delay=0.2)


class Setup:
    """A queue file, an engine, the upload service, and an API client."""

    def __init__(self, srv: SandboxServer) -> None:
        self.srv = srv
        self.store = QueueStore()
        gate = RateGate()
        key = srv.demo.api_key

        def factory(target: Target) -> ApiClient:
            return ApiClient(target.base_url, key, target.org_id, gate=gate, retry_policy=FAST)

        self.engine = UploadEngine(
            self.store, factory, gate=gate, retry_delays=(0.2,), verify_delays=(0.2,)
        )
        self.service = UploadService(self.store, self.engine)
        self.client = ApiClient(srv.base_url, key, srv.demo.org_id, retry_policy=FAST)
        self.note = self.client.get_note(srv.demo.open_note_id)
        self.visit = self.note.visit_datetime
        assert self.visit is not None

    def submit(self, ids: list[int], note: Note | None = None, **kw: object) -> object:
        result = self.service.submit(
            ids,
            note or self.note,
            provider_id=self.srv.demo.provider_id,
            preset="standard",
            base_url=self.srv.base_url,
            org_id=self.srv.demo.org_id,
            **kw,  # type: ignore[arg-type]
        )
        assert self.engine.wait_idle(timeout=60)
        return result

    def close(self) -> None:
        assert self.engine.shutdown(wait=True, cancel_in_flight=True)
        self.client.close()
        self.store.close()


@pytest.fixture
def setup(sandbox: SandboxServer) -> Iterator[Setup]:
    s = Setup(sandbox)
    yield s
    s.close()


def test_staged_photos_are_saved_at_once_and_survive_a_restart(
    setup: Setup, tmp_path: Path
) -> None:
    taken = setup.visit.replace(tzinfo=None)
    paths = [write_checked_photo(tmp_path / f"p{n}.jpg", taken, seed=n) for n in range(2)]
    result = setup.service.stage(paths)
    assert [s.state for s in result.photos] == [ItemState.STAGED] * 2
    assert all(s.outcome.kind is OutcomeKind.STAGED for s in result.photos)
    # Another process opening the queue (the window after a crash) finds them with their facts.
    with QueueStore(setup.store.path) as again:
        rows = again.items(states=[ItemState.STAGED])
    assert [Path(r.source_path) for r in rows] == paths
    assert rows[0].captured_at == taken.isoformat()
    assert setup.srv.uploads() == []


def test_a_photo_from_another_day_is_held_until_acknowledged(setup: Setup, tmp_path: Path) -> None:
    visit = setup.visit.replace(tzinfo=None)
    same = write_checked_photo(tmp_path / "same.jpg", visit, seed=1)
    other = write_checked_photo(tmp_path / "other.jpg", visit - timedelta(days=37), seed=2)
    staged = {s.path.name: s.id for s in setup.service.stage([same, other]).photos}

    result = setup.submit(list(staged.values()))
    (held,) = result.stopped  # type: ignore[attr-defined]
    assert held.id == staged["other.jpg"]
    assert held.outcome.kind is OutcomeKind.HELD
    assert held.outcome.code == CheckCode.OTHER_DAY
    assert held.outcome.action is Action.ACKNOWLEDGE
    assert "37 days before this visit" in held.outcome.message
    assert [f.code for f in held.findings] == [CheckCode.OTHER_DAY]
    assert setup.store.get(held.id).state == ItemState.STAGED  # kept, not lost
    assert len(setup.srv.uploads()) == 1  # only the photo of the visit day

    # The user acknowledges another day for this batch: now it goes.
    result = setup.submit([held.id], acknowledged=frozenset({CheckCode.OTHER_DAY}))
    assert not result.stopped  # type: ignore[attr-defined]
    assert setup.store.get(held.id).state == ItemState.VERIFIED
    assert len(setup.srv.uploads()) == 2


def test_another_patients_label_is_blocked_whatever_is_acknowledged(
    setup: Setup, tmp_path: Path
) -> None:
    visit = setup.visit.replace(tzinfo=None)
    mrn = setup.note.patient.mrn if setup.note.patient else None
    wrong = write_checked_photo(tmp_path / "wrong.jpg", visit, label="MRN:999999", seed=3)
    right = write_checked_photo(tmp_path / "right.jpg", visit, label=f"MRN:{mrn}", seed=4)
    staged = {s.path.name: s.id for s in setup.service.stage([wrong, right]).photos}

    checked = {s.path.name: s for s in setup.service.check(list(staged.values()), setup.note)}
    assert checked["right.jpg"].findings[0].code is CheckCode.LABEL_MATCH
    assert checked["wrong.jpg"].outcome.kind is OutcomeKind.BLOCKED

    result = setup.submit(
        list(staged.values()), acknowledged=frozenset({CheckCode.OTHER_DAY, *CheckCode})
    )
    (blocked,) = result.stopped  # type: ignore[attr-defined]
    assert blocked.id == staged["wrong.jpg"]
    assert blocked.outcome.code == CheckCode.LABEL_MISMATCH
    assert "MRN 999999" in blocked.outcome.message
    sent = setup.srv.uploads()
    assert len(sent) == 1
    assert setup.store.get(staged["right.jpg"]).state == ItemState.VERIFIED
    assert setup.store.get(staged["wrong.jpg"]).note_id == ""  # never bound to this note


def test_a_signed_note_is_refused_before_anything_is_queued(setup: Setup, tmp_path: Path) -> None:
    staged = setup.service.stage([write_checked_photo(tmp_path / "a.jpg", None)]).photos
    with pytest.raises(NoteLocked):
        setup.service.open_note(setup.client, setup.srv.demo.signed_note_id)
    signed = setup.client.get_note(setup.srv.demo.signed_note_id)
    with pytest.raises(NoteLocked, match="signed"):
        setup.submit([staged[0].id], note=signed)
    assert setup.store.get(staged[0].id).state == ItemState.STAGED
    assert setup.srv.uploads() == []


def test_a_photo_already_on_the_note_is_not_queued_again(setup: Setup, tmp_path: Path) -> None:
    path = write_checked_photo(tmp_path / "a.jpg", setup.visit.replace(tzinfo=None))
    first = setup.service.stage([path]).photos
    setup.submit([first[0].id])
    assert setup.store.get(first[0].id).state == ItemState.VERIFIED

    again = setup.service.stage([path]).photos
    result = setup.submit([again[0].id])
    assert result.stand_ins[again[0].id].id == first[0].id  # type: ignore[attr-defined]
    assert result.stand_ins[again[0].id].outcome.kind is OutcomeKind.OK  # type: ignore[attr-defined]
    withdrawn = setup.store.get(again[0].id)
    assert withdrawn.error_code == "already_sent"
    assert snapshot(withdrawn).outcome.kind is OutcomeKind.SKIPPED  # listed, to include
    assert not setup.store.items(states=[ItemState.NEEDS_DECISION], include_hidden=True)
    assert len(setup.srv.uploads()) == 1


def test_remove_retry_and_findings_survive_in_the_file(setup: Setup, tmp_path: Path) -> None:
    visit = setup.visit.replace(tzinfo=None)
    path = write_checked_photo(tmp_path / "old.jpg", visit - timedelta(days=2))
    (snap,) = setup.service.stage([path]).photos
    setup.service.check([snap.id], setup.note)
    stored = json.loads(setup.store.get(snap.id).findings or "[]")
    assert [f["code"] for f in stored] == ["other_day"]
    removed = setup.service.remove(snap.id)
    assert removed.item.hidden and removed.state == ItemState.CANCELLED
    assert setup.service.staged() == []


def test_one_label_for_the_patient_everywhere(setup: Setup) -> None:
    label = patient_label(setup.note)
    assert label.startswith("Rivera, Elena (MRN ") and "DOB " in label
    assert target_label(setup.note).startswith(label + ", visit ")


def test_an_ehr_failure_waits_for_a_decision_and_send_again_sends_it(
    setup: Setup, tmp_path: Path
) -> None:
    path = write_checked_photo(tmp_path / "a.jpg", setup.visit.replace(tzinfo=None))
    (snap,) = setup.service.stage([path]).photos
    setup.srv.set_faults(ehr_fail=1)
    setup.submit([snap.id])
    item = setup.store.get(snap.id)
    assert item.state == ItemState.NEEDS_DECISION
    outcome = snapshot(item).outcome
    assert outcome.kind is OutcomeKind.NEEDS_DECISION and outcome.action is Action.SEND_AGAIN
    assert "send-again" in outcome.cli_hint and "maxupload" not in outcome.next_step
    (again,) = setup.service.send_again([snap.id])
    assert again.state in (ItemState.QUEUED, ItemState.READY)
    assert setup.engine.wait_idle(timeout=60)
    assert setup.store.get(snap.id).state == ItemState.VERIFIED
    assert len(setup.srv.uploads()) == 2  # a second copy, knowingly
