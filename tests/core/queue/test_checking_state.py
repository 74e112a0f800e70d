"""Photos bound to their note while their photo checks run (state ``checking``): never taken by
the engine, kept by recovery, queued only through ``release_checked``; schema 4 adds what the
batch acknowledged. A real SQLite file in the test's private app folder."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.api.models import Target
from maxupload.core.batch_checks import acknowledged_json, acknowledged_of
from maxupload.core.checks.photo import CheckCode
from maxupload.core.engine.ports import UploadClient
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.queue.model import (
    BindingImmutable,
    InvalidTransition,
    ItemState,
)
from maxupload.core.queue.schema import SCHEMA_VERSION
from maxupload.core.queue.store import QueueStore
from tests.core.queue.test_queue_store import TARGET, entry, old_queue_file


@pytest.fixture
def store() -> Iterator[QueueStore]:
    s = QueueStore()
    yield s
    s.close()


def test_a_batch_waiting_for_its_checks_is_bound_and_never_runnable(store: QueueStore) -> None:
    pending = acknowledged_json({CheckCode.OTHER_DAY})
    items = store.add(
        [entry("a.jpg", "a" * 64), entry("b.jpg", "b" * 64)],
        TARGET,
        "standard",
        checks_pending=pending,
    )
    assert [i.state for i in items] == [ItemState.CHECKING] * 2
    assert all(i.target == TARGET and i.preset == "standard" for i in items)
    assert acknowledged_of(items[0]) == {CheckCode.OTHER_DAY}
    assert store.next_runnable(time.time() + 3600) is None  # the engine never takes them
    assert store.recover() == []  # a crash leaves them as they are
    assert store.get(items[0].id).state == ItemState.CHECKING
    with pytest.raises(BindingImmutable):
        store.update(items[0].id, note_id="nte_b")
    with pytest.raises(sqlite3.IntegrityError):  # the file itself refuses it too
        store._conn.execute("UPDATE items SET note_id = 'nte_b' WHERE id = ?", (items[0].id,))

    queued = store.release_checked(items[0].id, "photo checks passed", facts_read=True)
    assert queued.state == ItemState.QUEUED and queued.facts_read
    assert store.next_runnable(time.time()).id == queued.id  # type: ignore[union-attr]
    with pytest.raises(InvalidTransition):
        store.release_checked(items[0].id, "twice")
    assert [e.state for e in store.events(queued.id)] == ["checking", "queued"]


def test_a_twin_is_held_when_its_checks_pass(store: QueueStore) -> None:
    (first,) = store.add([entry("a.jpg", "c" * 64)], TARGET, "standard")
    (twin,) = store.add([entry("a-copy.jpg", "c" * 64)], TARGET, "standard", checks_pending="[]")
    assert twin.state == ItemState.CHECKING  # the guard waits for the checks
    held = store.release_checked(twin.id, "photo checks passed")
    assert held.state == ItemState.NEEDS_DECISION
    assert held.duplicate_of == first.id


def test_a_photo_waiting_for_its_checks_can_be_cancelled(store: QueueStore) -> None:
    def no_client(_target: Target) -> UploadClient:
        raise AssertionError("nothing is sent")

    (item,) = store.add([entry("a.jpg", "d" * 64)], TARGET, "standard", checks_pending="[]")
    engine = UploadEngine(store, no_client)
    try:
        assert engine.cancel(item.id)
    finally:
        engine.shutdown(wait=True)
    assert store.get(item.id).state == ItemState.CANCELLED


def test_migrates_a_version_3_file(tmp_path: Path) -> None:
    path = old_queue_file(tmp_path / "old" / "queue.sqlite3", 3)
    assert SCHEMA_VERSION == 4

    store = QueueStore(path)
    try:
        assert store.schema_version == 4
        (item,) = store.items()
        assert item.image_id == "img_old" and item.acknowledged is None
        assert acknowledged_of(item) == frozenset()
    finally:
        store.close()
