"""Photos refused for their note (signed while on their way) go to another note: added again as
not sent yet, the failed items off the list; real sandbox, queue file and engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.queue.model import ItemState
from maxupload.sandbox import SandboxServer
from tests.core.test_uploads import Setup
from tests.plugins.photo_checks import write_checked_photo


@pytest.fixture
def setup(sandbox: SandboxServer) -> Iterator[Setup]:
    s = Setup(sandbox)
    yield s
    s.close()


def _other_open_note(setup: Setup) -> str:
    """Rivera's second visit note, reopened for this test."""
    demo = setup.srv.demo
    (other,) = [
        n
        for n in demo.notes
        if n["patient"]["lastName"] == "Rivera" and n["id"] != demo.open_note_id
    ]
    other["status"] = "awaiting_sign"
    return str(other["id"])


def test_refused_photos_move_to_another_note_and_only_there(setup: Setup, tmp_path: Path) -> None:
    paths = [write_checked_photo(tmp_path / f"p{i}.jpg", None, seed=i + 1) for i in range(3)]
    ok, *refused = [p.id for p in setup.service.stage(paths).photos]
    setup.submit([ok])
    assert setup.store.get(ok).state == ItemState.VERIFIED

    setup.engine.pause()
    setup.service.submit(
        refused,
        setup.note,
        provider_id=setup.srv.demo.provider_id,
        preset="standard",
        base_url=setup.srv.base_url,
        org_id=setup.srv.demo.org_id,
    )
    setup.srv.demo.note(setup.note.id)["status"] = "signed"  # signed while on their way
    setup.engine.resume()
    assert setup.engine.wait_idle(timeout=60)
    assert [setup.store.get(i).state for i in refused] == [ItemState.FAILED] * 2

    moved = setup.service.move_to_new_batch([ok, *refused])
    assert [k.id for k in moved.kept] == [ok]  # stored on the note: it stays there
    assert sorted(moved.replaced) == sorted(refused)
    for old_id, new_id in moved.replaced.items():
        old, new = setup.store.get(old_id), setup.store.get(new_id)
        assert old.hidden and old.state == ItemState.FAILED and old.note_id == setup.note.id
        assert new.state == ItemState.STAGED and not new.note_id
        assert new.source_path == old.source_path and new.sha256_original == old.sha256_original
    assert sorted(s.id for s in setup.service.staged()) == sorted(moved.replaced.values())

    other = setup.client.get_note(_other_open_note(setup))
    setup.submit(list(moved.replaced.values()), note=other)
    for new_id in moved.replaced.values():
        assert setup.store.get(new_id).state == ItemState.VERIFIED
    per_note = [u["noteId"] for u in setup.srv.uploads()]
    assert per_note.count(other.id) == 2
    assert per_note.count(setup.note.id) == 1  # only the photo sent before it was signed


def test_a_photo_that_may_be_stored_is_never_moved(setup: Setup, tmp_path: Path) -> None:
    (snap,) = setup.service.stage([write_checked_photo(tmp_path / "a.jpg", None)]).photos
    setup.srv.set_faults(ehr_fail=1)  # stored, EHR push failed: waits for a decision
    setup.submit([snap.id])
    assert setup.store.get(snap.id).state == ItemState.NEEDS_DECISION
    moved = setup.service.move_to_new_batch([snap.id])
    assert not moved.staged and [k.id for k in moved.kept] == [snap.id]
    assert not setup.store.get(snap.id).hidden
