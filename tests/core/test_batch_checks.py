"""A batch bound to its note before its photo checks run, each photo sent as soon as its own
checks pass; photos an interruption left waiting are finished later. The real sandbox, queue
file, engine and photo checks (EXIF capture times, real barcodes)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from maxupload.core.api.models import Note, Target
from maxupload.core.batch_checks import (
    FactsAhead,
    check_and_release,
    finish_checks,
    queue_for_checks,
)
from maxupload.core.checks import photo as checks
from maxupload.core.checks.photo import CheckCode, PhotoFacts
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.intake import scan
from maxupload.core.outcomes import OutcomeKind
from maxupload.core.queue.model import ItemState, QueueItem
from maxupload.core.uploads import UploadService, target_label
from maxupload.sandbox import SandboxServer
from tests.core.test_uploads import Setup
from tests.plugins.photo_checks import write_checked_photo


@pytest.fixture
def setup(sandbox: SandboxServer) -> Iterator[Setup]:
    s = Setup(sandbox)
    yield s
    s.close()


def target_of(setup: Setup) -> Target:
    srv = setup.srv
    return Target(
        srv.demo.org_id,
        setup.note.id,
        srv.demo.provider_id,
        target_label(setup.note),
        srv.base_url,
    )


def bind(setup: Setup, paths: list[Path], **kw: object) -> list[QueueItem]:
    """The whole batch bound to the open note, waiting for its checks."""
    accepted = scan(paths).unique
    assert len(accepted) == len(paths)
    return queue_for_checks(
        setup.service,
        accepted,
        setup.note,
        target_of(setup),
        "standard",
        **kw,  # type: ignore[arg-type]
    )


def test_the_first_photo_is_sent_while_the_last_is_still_checked(
    setup: Setup, tmp_path: Path
) -> None:
    visit = setup.visit.replace(tzinfo=None)
    paths = [write_checked_photo(tmp_path / f"{n}.jpg", visit, seed=n) for n in "abc"]
    items = bind(setup, paths)
    states_at_first_check: list[list[ItemState]] = []
    sent_before_last_check: list[bool] = []
    lock = threading.Lock()

    def read(path: Path) -> PhotoFacts:
        with lock:
            if not states_at_first_check:
                states_at_first_check.append([i.state for i in setup.store.items()])
        if path.name == "c.jpg":  # the last photo's checks wait until something was sent
            deadline = time.monotonic() + 60
            while not setup.srv.uploads() and time.monotonic() < deadline:
                time.sleep(0.01)
            sent_before_last_check.append(bool(setup.srv.uploads()))
        return checks.read_facts(path)

    result = check_and_release(setup.service, items, setup.note, read_for=lambda _p: read)
    assert states_at_first_check == [[ItemState.CHECKING] * 3]  # all bound before any check
    assert sent_before_last_check == [True]
    assert sorted(result.run) == sorted(i.id for i in items)
    assert setup.engine.wait_idle(timeout=60)
    assert [i.state for i in setup.store.items()] == [ItemState.VERIFIED] * 3
    assert len(setup.srv.uploads()) == 3


def test_a_stopped_photo_never_reaches_the_server_and_the_others_go(
    setup: Setup, tmp_path: Path
) -> None:
    visit = setup.visit.replace(tzinfo=None)
    mrn = setup.note.patient.mrn if setup.note.patient else None
    right = write_checked_photo(tmp_path / "right.jpg", visit, label=f"MRN:{mrn}", seed=1)
    wrong = write_checked_photo(tmp_path / "wrong.jpg", visit, label="MRN:999999", seed=2)
    other = write_checked_photo(tmp_path / "other.jpg", visit - timedelta(days=37), seed=3)
    items = bind(setup, [right, wrong, other])

    result = check_and_release(setup.service, items, setup.note)
    assert setup.engine.wait_idle(timeout=60)
    stopped = {s.path.name: s for s in result.stopped}
    assert stopped["wrong.jpg"].outcome.kind is OutcomeKind.BLOCKED
    assert stopped["other.jpg"].outcome.kind is OutcomeKind.HELD
    for snap in stopped.values():
        row = setup.store.get(snap.id)
        assert row.state == ItemState.CANCELLED and not row.hidden  # listed, with why
        assert row.error_message == snap.outcome.message and row.next_step
    assert "MRN 999999" in setup.store.get(stopped["wrong.jpg"].id).error_message  # type: ignore[operator]
    (sent,) = setup.srv.uploads()
    (queued,) = result.queued
    assert queued.path.name == "right.jpg"
    assert setup.store.get(queued.id).state == ItemState.VERIFIED
    assert setup.store.get(queued.id).sha256_sent == sent["sha256"]


def restart(setup: Setup) -> UploadService:
    """The process stopped mid-checks; a new engine over the same queue file."""
    assert setup.engine.shutdown(wait=True, cancel_in_flight=True)
    setup.engine = UploadEngine(
        setup.store,
        setup.engine.client_factory,
        gate=setup.engine.gate,
        retry_delays=(0.2,),
        verify_delays=(0.2,),
    )
    return UploadService(setup.store, setup.engine)


def test_photos_left_waiting_for_their_checks_are_finished_later(
    setup: Setup, tmp_path: Path
) -> None:
    visit = setup.visit.replace(tzinfo=None)
    same = write_checked_photo(tmp_path / "same.jpg", visit, seed=1)
    other = write_checked_photo(tmp_path / "other.jpg", visit - timedelta(days=3), seed=2)
    wrong = write_checked_photo(tmp_path / "wrong.jpg", visit, label="MRN:999999", seed=3)
    # The user acknowledged another day for this batch; then the run stopped before any check.
    bind(setup, [same, other, wrong], acknowledged=frozenset({CheckCode.OTHER_DAY}))
    service = restart(setup)
    assert [i.state for i in setup.store.items()] == [ItemState.CHECKING] * 3
    notes_read: list[str] = []

    def open_note(target: Target) -> Note:
        notes_read.append(target.note_id)
        return setup.client.get_note(target.note_id)

    done = finish_checks(service, open_note)
    assert setup.engine.wait_idle(timeout=60)
    assert notes_read == [setup.note.id]  # read again, once per note
    rows = {i.file_name: i for i in setup.store.items()}
    assert rows["same.jpg"].state == ItemState.VERIFIED
    assert rows["other.jpg"].state == ItemState.VERIFIED  # acknowledged for its batch
    assert rows["wrong.jpg"].state == ItemState.CANCELLED
    assert rows["wrong.jpg"].error_code == CheckCode.LABEL_MISMATCH
    assert [s.path.name for r in done.results for s in r.stopped] == ["wrong.jpg"]
    assert len(setup.srv.uploads()) == 2


def test_a_note_signed_meanwhile_fails_its_waiting_photos(setup: Setup, tmp_path: Path) -> None:
    visit = setup.visit.replace(tzinfo=None)
    bind(setup, [write_checked_photo(tmp_path / "a.jpg", visit)])
    service = restart(setup)
    setup.srv.demo.note(setup.note.id)["status"] = "signed"  # the provider signed it meanwhile

    done = finish_checks(service, lambda t: setup.client.get_note(t.note_id))
    (refused,) = done.refused
    row = setup.store.get(refused.id)
    assert row.state == ItemState.FAILED and "signed" in (row.error_message or "")
    assert row.next_step
    assert setup.srv.uploads() == []


def test_facts_read_ahead_are_used_and_judged_only_after_binding(
    setup: Setup, tmp_path: Path
) -> None:
    visit = setup.visit.replace(tzinfo=None)
    right = write_checked_photo(tmp_path / "right.jpg", visit, seed=1)
    wrong = write_checked_photo(tmp_path / "wrong.jpg", visit, label="MRN:999999", seed=2)
    reads: list[str] = []
    lock = threading.Lock()

    def read(path: Path) -> PhotoFacts:
        with lock:
            reads.append(path.name)
        return checks.read_facts(path)

    ahead = FactsAhead([right, wrong], read)  # before the batch is bound: nothing is queued
    try:
        assert setup.store.items() == []
        items = bind(setup, [right, wrong])
        result = check_and_release(
            setup.service, items, setup.note, read_for=lambda _p: read, ahead=ahead
        )
    finally:
        ahead.close()
    assert setup.engine.wait_idle(timeout=60)
    assert sorted(reads) == ["right.jpg", "wrong.jpg"]  # each photo read once, ahead
    assert [s.path.name for s in result.stopped] == ["wrong.jpg"]
    assert len(setup.srv.uploads()) == 1
