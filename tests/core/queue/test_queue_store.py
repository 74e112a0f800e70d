"""QueueStore: a real SQLite file in the test's private app folder."""

from __future__ import annotations

import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.api.models import Target
from maxupload.core.queue.model import (
    BindingImmutable,
    InvalidTransition,
    ItemNotFound,
    ItemState,
    NewItem,
    QueueItem,
    QueueStoreError,
)
from maxupload.core.queue.schema import MIGRATIONS, SCHEMA_VERSION, connect, migrate
from maxupload.core.queue.store import QueueStore
from maxupload.core.system.paths import app_paths

TARGET = Target("org-1", "nte_a", "prv_1", "Doe, Jane (MRN 1)", "http://127.0.0.1:9/v3")
OTHER_NOTE = Target("org-1", "nte_b", "prv_1", "Roe, Rick (MRN 2)", "http://127.0.0.1:9/v3")


def entry(name: str, sha: str = "a" * 64) -> NewItem:
    return NewItem(Path("/photos") / name, 1234, sha)


@pytest.fixture
def store() -> Iterator[QueueStore]:
    s = QueueStore()
    yield s
    s.close()


def test_file_lives_in_data_folder_owner_only_with_wal(store: QueueStore) -> None:
    assert store.path == app_paths().data / "queue.sqlite3"
    store.add([entry("a.jpg")], TARGET, "standard")
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    for suffix in ("-wal", "-shm"):
        side = Path(f"{store.path}{suffix}")
        if side.exists():
            assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0
    other = sqlite3.connect(store.path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()
    # FULL (2): a committed state change survives a power cut, not only a crash.
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert store.schema_version == SCHEMA_VERSION


def test_add_binds_target_and_preset(store: QueueStore) -> None:
    (item,) = store.add([entry("a.jpg")], TARGET, "small")
    assert item.state == ItemState.QUEUED
    assert item.target == TARGET
    assert item.preset == "small"
    assert item.file_name == "a.jpg"
    assert [e.state for e in store.events(item.id)] == ["queued"]


def test_binding_cannot_be_changed_through_the_store_or_sql(store: QueueStore) -> None:
    (item,) = store.add([entry("a.jpg")], TARGET, "standard")
    for field_name, value in [
        ("note_id", "nte_other"),
        ("org_id", "org-2"),
        ("provider_id", "prv_2"),
        ("patient_label", "Someone else"),
        ("base_url", "https://api.maxcare.ai/v3"),
        ("preset", "original"),
        ("sha256_original", "b" * 64),
    ]:
        with pytest.raises(BindingImmutable):
            store.update(item.id, **{field_name: value})
    raw = sqlite3.connect(store.path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="keeps its note"):
            raw.execute("UPDATE items SET note_id = 'nte_other' WHERE id = ?", (item.id,))
        raw.execute("UPDATE items SET attempts = 5 WHERE id = ?", (item.id,))
        raw.commit()
    finally:
        raw.close()
    again = store.get(item.id)
    assert again.note_id == "nte_a" and again.attempts == 5


def test_listener_hears_only_committed_changes(store: QueueStore) -> None:
    seen: list[tuple[str, str]] = []

    def listener(item: QueueItem) -> None:
        # Read through a separate connection: the change must already be on disk.
        other = sqlite3.connect(store.path)
        try:
            (state,) = other.execute("SELECT state FROM items WHERE id = ?", (item.id,)).fetchone()
        finally:
            other.close()
        seen.append((item.state.value, state))

    store.subscribe(listener)
    (item,) = store.add([entry("a.jpg")], TARGET, "standard")
    store.update(item.id, ItemState.PREPARING, message="preparing")
    store.update(item.id, ItemState.READY, message="ready", sha256_sent="c" * 64)
    assert seen == [("queued", "queued"), ("preparing", "preparing"), ("ready", "ready")]


def test_a_failed_commit_is_rolled_back_and_the_store_stays_usable(store: QueueStore) -> None:
    (item,) = store.add([entry("a.jpg")], TARGET, "standard")
    # A change that only fails at COMMIT (a deferred foreign key), like a full disk would.
    with pytest.raises(sqlite3.IntegrityError), store._transaction() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute("INSERT INTO events (item_id, at, state, message) VALUES (999, 0, 'x', '')")
    assert store.update(item.id, ItemState.READY).state == ItemState.READY
    assert all(e.item_id == item.id for e in store.events(item.id))


def test_a_key_quoted_by_an_error_never_reaches_the_queue_file(store: QueueStore) -> None:
    key = "max_dev_ak_" + "Zq8rT2" * 6
    (item,) = store.add([entry("a.jpg")], TARGET, "standard")
    store.update(
        item.id,
        ItemState.FAILED,
        message=f"failed: Authorization: Bearer {key}",
        error_message=f"Unexpected problem (ValueError: bad header value {key!r}).",
    )
    assert key not in (store.get(item.id).error_message or "")
    files = store.path.parent.glob(store.path.name + "*")
    assert not any(key.encode() in f.read_bytes() for f in files)


def test_compare_and_set_refuses_an_unexpected_state(store: QueueStore) -> None:
    (item,) = store.add([entry("a.jpg")], TARGET, "standard")
    with pytest.raises(InvalidTransition):
        store.update(item.id, ItemState.UPLOADING, expect={ItemState.READY})
    assert store.get(item.id).state == ItemState.QUEUED
    with pytest.raises(ItemNotFound):
        store.get(999)


def test_duplicate_guard_survives_a_restart(store: QueueStore) -> None:
    (first,) = store.add([entry("a.jpg", "d" * 64)], TARGET, "standard")
    store.update(first.id, ItemState.SYNCED, image_id="img_1", uploaded_at=time.time())
    store.close()

    reopened = QueueStore()
    try:
        (again,) = reopened.add([entry("copy-of-a.jpg", "d" * 64)], TARGET, "standard")
        assert again.state == ItemState.NEEDS_DECISION
        assert again.error_code == "duplicate"
        assert again.duplicate_of == first.id
        assert "Same picture as a.jpg" in (again.error_message or "")
        assert f"send-again {again.id}" in (again.next_step or "")
        # Same photo to another note, and another photo to the same note: no warning.
        (other_note,) = reopened.add([entry("a.jpg", "d" * 64)], OTHER_NOTE, "standard")
        (other_photo,) = reopened.add([entry("b.jpg", "e" * 64)], TARGET, "standard")
        assert other_note.state == ItemState.QUEUED
        assert other_photo.state == ItemState.QUEUED
    finally:
        reopened.close()


def test_failed_or_cancelled_items_do_not_block_a_new_attempt(store: QueueStore) -> None:
    (first,) = store.add([entry("a.jpg")], TARGET, "standard")
    store.update(first.id, ItemState.FAILED, error_code="not_found")
    (second,) = store.add([entry("a.jpg")], TARGET, "standard")
    assert second.state == ItemState.QUEUED


def test_a_photo_sent_again_then_cancelled_still_counts_for_the_guard(
    store: QueueStore,
) -> None:
    (first,) = store.add([entry("a.jpg")], TARGET, "standard")
    # Sent once, the EHR push failed (a copy may be stored); the user chose "send again" and
    # then cancelled before it went out.
    store.update(first.id, ItemState.NEEDS_DECISION, attempts=1, error_code="ehr_sync_failed")
    store.update(first.id, ItemState.QUEUED, duplicate_ok=True)
    store.update(first.id, ItemState.CANCELLED)
    (second,) = store.add([entry("a-again.jpg")], TARGET, "standard")
    assert second.state == ItemState.NEEDS_DECISION and second.duplicate_of == first.id
    assert second.error_message and "may already be stored" in second.error_message
    store.update(second.id, ItemState.READY, duplicate_ok=False, sha256_sent="f" * 64)
    assert store.mark_duplicate_if_any(second.id) is not None  # and again before sending


def test_guard_checks_the_prepared_copy_too(store: QueueStore) -> None:
    first, second = store.add(
        [entry("a.png", "1" * 64), entry("a-resaved.png", "2" * 64)], TARGET, "standard"
    )
    store.update(first.id, ItemState.SYNCED, sha256_sent="f" * 64, image_id="img_9")
    store.update(second.id, ItemState.READY, sha256_sent="f" * 64)
    held = store.mark_duplicate_if_any(second.id)
    assert held is not None and held.state == ItemState.NEEDS_DECISION
    assert held.duplicate_of == first.id
    # Once the user confirmed a second copy, the guard lets it pass.
    store.update(second.id, ItemState.READY, duplicate_ok=True)
    assert store.mark_duplicate_if_any(second.id) is None


def test_only_one_of_two_twins_can_begin_uploading(store: QueueStore) -> None:
    # Both passed the guard when queued (the first was cancelled, then retried).
    first, second = store.add([entry("a.jpg", "1" * 64), entry("b.jpg", "2" * 64)], TARGET, "x")
    for item in (first, second):
        store.update(item.id, ItemState.READY, sha256_sent="f" * 64)
    with pytest.raises(InvalidTransition):
        store.begin_upload(store.add([entry("c.jpg", "3" * 64)], TARGET, "x")[0].id, message="")
    sending = store.begin_upload(first.id, message="sending", attempts=1)
    assert sending.state == ItemState.UPLOADING and sending.attempts == 1
    held = store.begin_upload(second.id, message="sending", attempts=1)
    assert held.state == ItemState.NEEDS_DECISION and held.duplicate_of == first.id
    assert held.attempts == 0 and held.error_code == "duplicate"


def test_recover_explains_every_interrupted_item(store: QueueStore) -> None:
    items = store.add(
        [entry(f"{n}.jpg", str(n) * 64) for n in range(6)],
        TARGET,
        "standard",
    )
    states = [
        ItemState.QUEUED,
        ItemState.PREPARING,
        ItemState.READY,
        ItemState.UPLOADING,
        ItemState.SYNCED,
        ItemState.VERIFIED,
    ]
    for item, state in zip(items, states, strict=True):
        store.update(item.id, state)
    store.close()

    reopened = QueueStore()
    try:
        changed = reopened.recover()
        assert {i.id for i in changed} == {items[1].id, items[3].id}
        after = {i.id: i for i in reopened.items()}
        assert after[items[0].id].state == ItemState.QUEUED
        assert after[items[1].id].state == ItemState.QUEUED
        assert after[items[2].id].state == ItemState.READY
        interrupted = after[items[3].id]
        assert interrupted.state == ItemState.NEEDS_DECISION
        assert interrupted.error_code == "interrupted"
        assert "a copy may be stored" in (interrupted.error_message or "")
        assert after[items[4].id].state == ItemState.SYNCED
        assert after[items[5].id].state == ItemState.VERIFIED
        history = [e.message for e in reopened.events(items[3].id)]
        assert "stopped while this photo was being sent" in history[-1]
    finally:
        reopened.close()


def test_next_runnable_honours_schedule_and_exclusions(store: QueueStore) -> None:
    a, b, c = store.add(
        [entry("a.jpg", "1" * 64), entry("b.jpg", "2" * 64), entry("c.jpg", "3" * 64)],
        TARGET,
        "standard",
    )
    now = time.time()
    store.update(a.id, ItemState.RETRY_LATER, next_attempt_at=now + 60)
    assert store.next_runnable(now).id == b.id  # type: ignore[union-attr]
    assert store.next_runnable(now, exclude=[b.id]).id == c.id  # type: ignore[union-attr]
    assert store.next_runnable(now, only=[a.id]) is None
    assert store.next_wakeup() == pytest.approx(now + 60)
    assert store.next_runnable(now + 61, only=[a.id]).id == a.id  # type: ignore[union-attr]
    # A stored photo not yet verified is runnable (for verification) until it is verified.
    store.update(b.id, ItemState.SYNCED, image_id="img_b")
    assert store.next_runnable(now, exclude=[c.id]).id == b.id  # type: ignore[union-attr]
    store.update(b.id, ItemState.VERIFIED, verified_at=now)
    assert store.next_runnable(now, exclude=[c.id]) is None


def old_queue_file(path: Path, version: int) -> Path:
    """A queue file of schema ``version`` holding one stored photo (image ``img_old``)."""
    conn = connect(path)
    migrate(conn, upto=version)
    conn.execute(
        "INSERT INTO items (source_path, file_name, size_original, sha256_original, org_id, "
        "note_id, provider_id, patient_label, base_url, preset, state, created_at, updated_at, "
        "image_id) VALUES ('/p/a.jpg', 'a.jpg', 10, ?, 'org', 'nte_a', 'prv', 'Doe', "
        "'http://127.0.0.1:9/v3', 'standard', 'synced', 1.0, 2.0, 'img_old')",
        ("9" * 64,),
    )
    conn.close()
    return path


def test_migrates_a_version_1_file(tmp_path: Path) -> None:
    path = old_queue_file(tmp_path / "old" / "queue.sqlite3", 1)
    assert len(MIGRATIONS) >= 2

    store = QueueStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        (item,) = store.items()
        assert item.image_id == "img_old" and item.state == ItemState.SYNCED
        assert item.revision == 0 and not item.duplicate_ok and not item.hidden
        assert store.events(item.id)[0].message.startswith("carried over")
        with pytest.raises(BindingImmutable):
            store.update(item.id, note_id="x")
        (dup,) = store.add(
            [NewItem(Path("/p/a2.jpg"), 10, "9" * 64)],
            Target("org", "nte_a", "prv", "Doe", "http://127.0.0.1:9/v3"),
            "standard",
        )
        assert dup.state == ItemState.NEEDS_DECISION
    finally:
        store.close()


def test_two_openers_of_a_new_file_at_once_both_succeed(tmp_path: Path) -> None:
    # The window and a command started together (or after an update) migrate the same file.
    failures: list[BaseException] = []
    for round_ in range(10):
        path = tmp_path / f"queue-{round_}.sqlite3"
        barrier = threading.Barrier(2)

        def open_it(path: Path = path, barrier: threading.Barrier = barrier) -> None:
            barrier.wait()
            try:
                QueueStore(path).close()
            except BaseException as exc:  # collected, asserted below
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []


def test_refuses_a_file_from_a_newer_version(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    QueueStore(path).close()
    raw = sqlite3.connect(path)
    raw.execute("UPDATE schema_version SET version = 99")
    raw.commit()
    raw.close()
    with pytest.raises(QueueStoreError, match="newer MaxUpload"):
        QueueStore(path)
