"""UploadEngine against the real sandbox over loopback, with a real SQLite queue and real JPEGs."""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from maxupload.core.api.client import ApiClient, RetryPolicy
from maxupload.core.api.models import Target
from maxupload.core.api.ratelimit import RateGate
from maxupload.core.engine.actions import DuplicateNotConfirmed
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.queue.model import InvalidTransition, ItemState, QueueItem
from maxupload.core.queue.runlock import QueueBusy
from maxupload.core.queue.store import QueueStore
from maxupload.sandbox import SandboxConfig, SandboxServer
from tests.plugins.images import photo, write_jpeg

FAST = RetryPolicy(base_delay=0.05, max_delay=0.2)


def engine_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("maxupload-upload-")]


class Recorder:
    """An EngineListener that also checks each change was committed before it was told."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = threading.Lock()
        self.changes: list[QueueItem] = []
        self.progress: list[tuple[int, int, int]] = []
        self.finished: list[dict[str, int]] = []
        self.uncommitted: list[tuple[int, str, str]] = []
        self.threads: set[str] = set()
        self.storage: list[BaseException] = []

    def item_changed(self, item: QueueItem) -> None:
        conn = sqlite3.connect(self.path)
        try:
            row = conn.execute(
                "SELECT state, revision FROM items WHERE id = ?", (item.id,)
            ).fetchone()
        finally:
            conn.close()
        with self.lock:
            if row[1] < item.revision:
                self.uncommitted.append((item.id, item.state.value, row[0]))
            self.changes.append(item)
            self.threads.add(threading.current_thread().name)

    def item_progress(self, item_id: int, sent: int, total: int) -> None:
        with self.lock:
            self.progress.append((item_id, sent, total))

    def batch_finished(self, counts: dict[str, int]) -> None:
        with self.lock:
            self.finished.append(dict(counts))

    def storage_failed(self, exc: BaseException) -> None:
        with self.lock:
            self.storage.append(exc)

    def states(self, item_id: int) -> list[str]:
        with self.lock:
            return [c.state.value for c in self.changes if c.id == item_id]


class Harness:
    """One queue file, one engine, photos on disk, and the sandbox that receives them."""

    def __init__(self, srv: SandboxServer, tmp_path: Path, base_url: str | None = None) -> None:
        self.srv = srv
        self.base_url = base_url or srv.base_url
        self.tmp = tmp_path
        self.key = srv.demo.api_key
        self.store = QueueStore()
        self.recorder = Recorder(self.store.path)
        self.engines: list[UploadEngine] = []
        self.target = self.target_for(srv.demo.open_note_id)

    def target_for(self, note_id: str, base_url: str | None = None) -> Target:
        return Target(
            org_id=self.srv.demo.org_id,
            note_id=note_id,
            provider_id=self.srv.demo.provider_id,
            patient_label="Rivera, Elena",
            base_url=base_url or self.base_url,
        )

    def photos(self, count: int, start: int = 0) -> list[Path]:
        return [
            write_jpeg(self.tmp / f"photo-{n}.jpg", photo(200, 150, seed=n), metadata=True)
            for n in range(start, start + count)
        ]

    def engine(self, **kw: Any) -> UploadEngine:
        gate = RateGate()
        key = kw.pop("key", self.key)

        def factory(target: Target) -> ApiClient:
            return ApiClient(target.base_url, key, target.org_id, gate=gate, retry_policy=FAST)

        kw.setdefault("retry_delays", (0.2, 0.4))
        kw.setdefault("verify_delays", (0.2,))
        engine = UploadEngine(self.store, factory, listener=self.recorder, gate=gate, **kw)
        self.engines.append(engine)
        return engine

    def run(self, engine: UploadEngine, only: list[int] | None = None) -> None:
        engine.start(only=only)
        assert engine.wait_idle(timeout=60)

    def arrivals(self, item: QueueItem) -> int:
        return sum(1 for u in self.srv.uploads() if u["sha256"] == item.sha256_sent)

    def close(self) -> None:
        for engine in self.engines:
            assert engine.shutdown(wait=True, cancel_in_flight=True)
        self.store.close()
        assert not engine_threads()


@pytest.fixture
def harness(sandbox: SandboxServer, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(sandbox, tmp_path)
    yield h
    h.close()


def test_photos_are_prepared_sent_and_verified(harness: Harness) -> None:
    engine = harness.engine()
    items = engine.add(harness.photos(5), harness.target, "standard")
    harness.run(engine)
    uploads = harness.srv.uploads()
    assert len(uploads) == 5
    for item in harness.store.items():
        assert item.state == ItemState.VERIFIED, item
        assert item.image_id and item.server_status == "synced"
        assert item.prepared_path is None
        assert harness.arrivals(item) == 1
        sent = next(u for u in uploads if u["id"] == item.image_id)
        assert sent["noteId"] == harness.target.note_id and sent["size"] == item.size_sent
        assert item.sha256_sent != item.sha256_original  # metadata stripped, resized copy
        assert harness.recorder.states(item.id) == [
            "queued",
            "preparing",
            "ready",
            "uploading",
            "synced",
            "verified",
        ]
        events = [e.state for e in harness.store.events(item.id)]
        assert events[-1] == "verified"
    assert not list(engine.cache_dir.iterdir())  # prepared copies deleted once verified
    assert harness.recorder.uncommitted == []
    assert {p[0] for p in harness.recorder.progress} == {i.id for i in items}
    assert harness.recorder.finished[-1] == {"verified": 5}
    assert all(
        name.startswith("maxupload-upload-")
        for name in harness.recorder.threads - {threading.current_thread().name}
    )


def test_pending_upload_status_is_kept_and_verified(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    h = Harness(make_sandbox(upload_status="pending_upload"), tmp_path)
    try:
        engine = h.engine()
        engine.add(h.photos(1), h.target, "small")
        h.run(engine)
        (item,) = h.store.items()
        assert item.state == ItemState.VERIFIED and item.server_status == "pending_upload"
        assert "pending_upload" in h.recorder.states(item.id)
    finally:
        h.close()


def test_a_429_burst_is_absorbed(harness: Harness) -> None:
    harness.srv.set_faults(rate_limit_burst=3, retry_after_s=1)
    engine = harness.engine()
    engine.add(harness.photos(4), harness.target, "standard")
    harness.run(engine)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED] * 4
    assert len(harness.srv.uploads()) == 4
    assert sum(1 for e in harness.srv.request_log() if e["status"] == 429) == 3


def test_502_waits_for_a_decision_with_its_trace_id(harness: Harness) -> None:
    harness.srv.set_faults(ehr_fail=1)
    engine = harness.engine(workers=1)
    first, second = engine.add(harness.photos(2), harness.target, "standard")
    harness.run(engine)
    failed = harness.store.get(first.id)
    assert failed.state == ItemState.NEEDS_DECISION
    assert failed.error_code == "unexpected_integration_error"
    logged = [e for e in harness.srv.request_log() if e["status"] == 502]
    assert failed.trace_id == logged[0]["traceId"]
    assert f"send-again {first.id}" in (failed.next_step or "")
    assert failed.attempts == 1  # never re-sent by itself
    assert failed.prepared_path and Path(failed.prepared_path).exists()  # kept for a resend
    assert harness.store.get(second.id).state == ItemState.VERIFIED  # the batch went on
    # The sandbox kept the 502'd photo as pending_upload: a copy exists.
    assert harness.arrivals(failed) == 1

    with pytest.raises(DuplicateNotConfirmed):
        engine.send_again(first.id)
    assert harness.store.get(first.id).state == ItemState.NEEDS_DECISION
    engine.send_again(first.id, confirm_duplicate=True)
    assert engine.wait_idle(timeout=30)
    again = harness.store.get(first.id)
    assert again.state == ItemState.VERIFIED and again.attempts == 2
    assert harness.arrivals(again) == 2  # the test chose to send again


def test_connection_dropped_after_sending_is_never_resent_silently(harness: Harness) -> None:
    harness.srv.set_faults(drop_connection=1)
    engine = harness.engine(workers=1)
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    after = harness.store.get(item.id)
    assert after.state == ItemState.NEEDS_DECISION and after.error_code == "no_answer"
    assert "a copy may be stored" in (after.error_message or "")
    assert after.attempts == 1
    assert harness.arrivals(after) <= 1
    uploads_seen = [e for e in harness.srv.request_log() if e["method"] == "POST"]
    assert len(uploads_seen) == 1


def test_connection_dropped_before_reading_is_not_sent_twice(harness: Harness) -> None:
    harness.srv.set_faults(drop_before_read=1)
    engine = harness.engine(workers=1)
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    after = harness.store.get(item.id)
    assert harness.arrivals(after) <= 1
    if after.state == ItemState.VERIFIED:
        # The client saw the request fail before it was complete and sent it again.
        assert harness.arrivals(after) == 1
    else:
        # The whole body had been handed to the socket: the client cannot know, so it asks.
        assert after.state == ItemState.NEEDS_DECISION and after.attempts == 1
        assert harness.arrivals(after) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_server_is_retried_later_and_delivers_once(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    port = _free_port()
    srv = SandboxServer(SandboxConfig(port=port))  # not started yet: connections are refused
    h = Harness(srv, tmp_path, f"http://127.0.0.1:{port}/v3")
    try:
        engine = h.engine(workers=1, retry_delays=(0.3, 0.3, 0.3, 0.3, 0.3, 0.3))
        target = h.target
        (item,) = engine.add(h.photos(1), target, "standard")
        engine.start()
        # Wait for the first failure to be committed, then bring the server up.
        deadline = threading.Event()
        while h.store.get(item.id).state != ItemState.RETRY_LATER:
            deadline.wait(0.05)
        waiting = h.store.get(item.id)
        assert waiting.error_code == "network" and waiting.next_attempt_at is not None
        srv.start()
        try:
            assert engine.wait_idle(timeout=30)
            done = h.store.get(item.id)
            assert done.state == ItemState.VERIFIED
            assert h.arrivals(done) == 1
        finally:
            engine.shutdown()
            srv.stop()
    finally:
        h.close()


def test_retry_later_stops_after_its_budget_and_retry_starts_again(
    tmp_path: Path,
) -> None:
    port = _free_port()
    srv = SandboxServer(SandboxConfig(port=port))
    h = Harness(srv, tmp_path, f"http://127.0.0.1:{port}/v3")
    try:
        engine = h.engine(workers=1, retry_delays=())
        target = h.target
        (item,) = engine.add(h.photos(1), target, "standard")
        h.run(engine)
        stuck = h.store.get(item.id)
        assert stuck.state == ItemState.RETRY_LATER and stuck.settled
        assert f"queue retry {item.id}" in (stuck.next_step or "")
        srv.start()
        try:
            engine.retry(item.id)
            assert engine.wait_idle(timeout=30)
            assert h.store.get(item.id).state == ItemState.VERIFIED
        finally:
            engine.shutdown()
            srv.stop()
    finally:
        h.close()


@pytest.mark.parametrize(
    ("case", "code", "needle"),
    [
        ("bad_key", "unauthorized", "API key was rejected"),
        ("readonly", "forbidden", "'write:notes' permission"),
        ("signed", "conflict", "signed and takes no more images"),
        ("unknown_note", "not_found", "does not exist in this organization"),
    ],
)
def test_permanent_failures_say_what_to_do(
    harness: Harness, case: str, code: str, needle: str
) -> None:
    demo = harness.srv.demo
    key = {"bad_key": "max_dev_ak_" + "0" * 32, "readonly": demo.readonly_key}.get(
        case, demo.api_key
    )
    note = {"signed": demo.signed_note_id, "unknown_note": "nte_" + "0" * 32}.get(
        case, demo.open_note_id
    )
    engine = harness.engine(key=key, workers=1)
    first, *others = engine.add(harness.photos(3), harness.target_for(note), "standard")
    harness.run(engine)
    after = harness.store.get(first.id)
    assert after.state == ItemState.FAILED
    assert after.error_code == code
    assert needle in (after.error_message or "") + (after.next_step or "")
    assert after.next_step and after.trace_id
    assert after.prepared_path is None
    assert harness.srv.uploads() == []
    # The other photos are not sent to meet the same answer: marked failed with the reason.
    for other in others:
        sibling = harness.store.get(other.id)
        assert sibling.state == ItemState.FAILED and sibling.error_code == code
        assert (sibling.error_message or "").startswith("Not sent: ")
    posts = [e for e in harness.srv.request_log() if e["method"] == "POST"]
    assert len(posts) == 1


def test_a_rejected_key_fails_only_the_photos_of_its_run(harness: Harness) -> None:
    # A photo queued earlier (say, by the window with its stored key) is not part of a run
    # that uses another key: that key's 401 says nothing about it.
    waiting = harness.engine().add(harness.photos(1), harness.target, "standard")[0]
    engine = harness.engine(key="max_dev_ak_" + "0" * 32, workers=1)
    (mine,) = engine.add(harness.photos(1, start=1), harness.target, "standard")
    harness.run(engine, only=[mine.id])
    assert harness.store.get(mine.id).state == ItemState.FAILED
    assert harness.store.get(waiting.id).state == ItemState.QUEUED


def test_retry_after_the_key_was_replaced_uses_the_new_key(harness: Harness) -> None:
    keys = ["max_dev_ak_" + "0" * 32]  # the settings hold a wrong key at first
    gate = RateGate()

    def factory(target: Target) -> ApiClient:
        return ApiClient(target.base_url, keys[-1], target.org_id, gate=gate, retry_policy=FAST)

    engine = UploadEngine(harness.store, factory, workers=1, gate=gate, verify_delays=(0.2,))
    harness.engines.append(engine)
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    assert harness.store.get(item.id).error_code == "unauthorized"
    keys.append(harness.key)  # the user saved the right key, then chose "Retry"
    engine.retry(item.id)
    assert engine.wait_idle(timeout=60)
    assert harness.store.get(item.id).state == ItemState.VERIFIED


def test_500_on_upload_needs_a_decision(harness: Harness) -> None:
    harness.srv.set_faults(error_500=1)
    engine = harness.engine(workers=1)
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    after = harness.store.get(item.id)
    assert after.state == ItemState.NEEDS_DECISION and after.attempts == 1


def test_slow_server(harness: Harness) -> None:
    harness.srv.set_faults(latency_ms=300, paths=("/v3/*", "/_s3/*"))
    engine = harness.engine()
    engine.add(harness.photos(3), harness.target, "standard")
    harness.run(engine)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED] * 3
    assert len(harness.srv.uploads()) == 3


def test_cancel_stops_an_upload_waiting_to_be_sent(harness: Harness) -> None:
    engine = harness.engine(workers=1)
    engine.gate.pause_for(60)  # as after a 429: every request waits
    assert engine.rate_limit_pause_remaining() > 0
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    engine.start()
    # Prepared, it waits out the pause while still 'ready' (never 'uploading' before it is sent).
    while harness.store.get(item.id).state != ItemState.READY:
        threading.Event().wait(0.05)
    assert engine.cancel(item.id)
    assert engine.wait_idle(timeout=30)
    after = harness.store.get(item.id)
    assert after.state == ItemState.CANCELLED
    assert harness.srv.uploads() == []
    assert after.prepared_path is None


def test_pause_holds_new_work_and_resume_continues(harness: Harness) -> None:
    engine = harness.engine()
    engine.pause()
    items = engine.add(harness.photos(2), harness.target, "standard")
    engine.start()
    assert engine.wait_idle(timeout=5)
    assert [harness.store.get(i.id).state for i in items] == [ItemState.QUEUED] * 2
    engine.resume()
    assert engine.wait_idle(timeout=30)
    assert [harness.store.get(i.id).state for i in items] == [ItemState.VERIFIED] * 2


def test_duplicate_guard_across_a_restart(harness: Harness) -> None:
    files = harness.photos(1)
    engine = harness.engine()
    (first,) = engine.add(files, harness.target, "standard")
    harness.run(engine)
    engine.shutdown()
    harness.store.close()

    harness.store = QueueStore()
    harness.recorder = Recorder(harness.store.path)
    engine = harness.engine()
    (again,) = engine.add(files, harness.target, "standard")
    harness.run(engine)
    held = harness.store.get(again.id)
    assert held.state == ItemState.NEEDS_DECISION and held.error_code == "duplicate"
    assert held.duplicate_of == first.id
    assert len(harness.srv.uploads()) == 1
    with pytest.raises(InvalidTransition):
        engine.retry(again.id)  # retry does not bypass the warning
    engine.send_again(again.id, confirm_duplicate=True)
    assert engine.wait_idle(timeout=30)
    assert harness.store.get(again.id).state == ItemState.VERIFIED
    assert len(harness.srv.uploads()) == 2


def test_twins_that_both_passed_the_queue_check_are_sent_once(harness: Harness) -> None:
    engine = harness.engine(workers=2)
    (path,) = harness.photos(1)
    (first,) = engine.add([path], harness.target, "standard")
    assert engine.cancel(first.id)
    (second,) = engine.add([path], harness.target, "standard")
    assert second.state == ItemState.QUEUED  # a cancelled item does not hold it
    engine.retry(first.id)
    harness.run(engine)
    items = harness.store.items()
    assert sorted(i.state for i in items) == [ItemState.NEEDS_DECISION, ItemState.VERIFIED]
    held = next(i for i in items if i.state == ItemState.NEEDS_DECISION)
    assert held.error_code == "duplicate" and held.attempts == 0
    assert len(harness.srv.uploads()) == 1


def test_the_same_photo_under_another_name_is_caught_after_preparing(harness: Harness) -> None:
    (one,) = harness.photos(1)
    renamed = harness.tmp / "renamed.jpg"
    renamed.write_bytes(one.read_bytes())
    engine = harness.engine(workers=1)
    a, b = engine.add([one, renamed], harness.target, "standard")
    harness.run(engine)
    assert harness.store.get(a.id).state == ItemState.VERIFIED
    assert harness.store.get(b.id).state == ItemState.NEEDS_DECISION
    assert len(harness.srv.uploads()) == 1


def test_a_file_changed_after_queueing_is_not_sent(harness: Harness) -> None:
    (path,) = harness.photos(1)
    engine = harness.engine()
    (item,) = engine.add([path], harness.target, "standard")
    write_jpeg(path, photo(200, 150, seed=99))
    harness.run(engine)
    after = harness.store.get(item.id)
    assert after.state == ItemState.FAILED and after.error_code == "file_changed"
    assert harness.srv.uploads() == []


def test_an_unusable_file_fails_with_a_reason_and_the_rest_go_on(harness: Harness) -> None:
    broken = harness.tmp / "broken.jpg"
    good = harness.photos(1)[0]
    data = good.read_bytes()
    broken.write_bytes(data[: len(data) // 3])
    engine = harness.engine()
    bad_item, good_item = engine.add([broken, good], harness.target, "standard")
    harness.run(engine)
    bad = harness.store.get(bad_item.id)
    assert bad.state == ItemState.FAILED and bad.error_message and bad.next_step
    assert harness.store.get(good_item.id).state == ItemState.VERIFIED


def test_remove_and_clear_keep_the_record_for_the_guard(harness: Harness) -> None:
    engine = harness.engine()
    files = harness.photos(2)
    _sent, queued = engine.add(files, harness.target, "standard")
    engine.remove(queued.id)
    harness.run(engine)
    assert harness.store.get(queued.id).state == ItemState.CANCELLED
    assert engine.clear_done() == 1
    assert harness.store.items() == []
    assert len(harness.store.items(include_hidden=True)) == 2
    (dup,) = engine.add(files[:1], harness.target, "standard")
    assert dup.state == ItemState.NEEDS_DECISION


def test_remove_refuses_a_photo_a_crash_left_on_its_way(harness: Harness) -> None:
    engine = harness.engine()
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.store.update(item.id, ItemState.PREPARING)  # as a crash leaves it, not yet recovered
    with pytest.raises(InvalidTransition):
        engine.remove(item.id)  # hidden, it would still be prepared and sent after recovery
    harness.run(engine)
    after = harness.store.get(item.id)
    assert after.state == ItemState.VERIFIED and not after.hidden
    assert len(harness.srv.uploads()) == 1


def test_a_ready_copy_is_sent_as_it_is_and_a_damaged_one_is_made_again(
    harness: Harness,
) -> None:
    from maxupload.core.imaging.prepare import get_preset, prepare

    engine = harness.engine()
    intact, damaged = engine.add(harness.photos(2), harness.target, "standard")
    engine.cache_dir.mkdir(parents=True)
    for item, garbled in ((intact, False), (damaged, True)):
        ready = prepare(Path(item.source_path), preset=get_preset("standard"))
        path = engine.cache_dir / f"item-{item.id}-left-by-a-crash.jpg"
        path.write_bytes(b"garbled" if garbled else ready.data)
        harness.store.update(
            item.id,
            ItemState.READY,
            prepared_path=str(path),
            sha256_sent=ready.sha256_output,
            size_sent=len(ready.data),
            mime_type=ready.mime_type,
        )
    harness.run(engine)
    for item in (intact, damaged):
        assert harness.store.get(item.id).state == ItemState.VERIFIED
        assert harness.arrivals(harness.store.get(item.id)) == 1
    assert "preparing" not in harness.recorder.states(intact.id)
    assert "preparing" in harness.recorder.states(damaged.id)


def test_a_removed_photo_sent_after_all_is_back_on_the_list(harness: Harness) -> None:
    engine = harness.engine()
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    assert engine.remove(item.id).hidden
    assert not engine.retry(item.id).hidden
    harness.run(engine)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED]


def test_sha_of_what_arrived_is_what_was_recorded(harness: Harness) -> None:
    engine = harness.engine()
    (item,) = engine.add(harness.photos(1), harness.target, "original")
    harness.run(engine)
    done = harness.store.get(item.id)
    stored = harness.srv.image_bytes(done.image_id or "")
    assert stored is not None and hashlib.sha256(stored).hexdigest() == done.sha256_sent


def test_cancel_a_queued_photo_but_never_forget_one_that_may_be_stored(harness: Harness) -> None:
    harness.srv.set_faults(ehr_fail=1)
    engine = harness.engine(workers=1)
    files = harness.photos(2)
    first, second = engine.add(files, harness.target, "standard")
    assert engine.cancel(second.id)
    assert harness.store.get(second.id).state == ItemState.CANCELLED
    harness.run(engine)
    assert harness.store.get(first.id).state == ItemState.NEEDS_DECISION
    assert not engine.cancel(first.id)  # a copy may be stored: only a decision or removal
    removed = engine.remove(first.id)
    assert removed.hidden and removed.state == ItemState.NEEDS_DECISION
    (again,) = engine.add(files[:1], harness.target, "standard")
    assert again.state == ItemState.NEEDS_DECISION and again.duplicate_of == first.id
    assert len(harness.srv.uploads()) == 1  # only the copy the 502 left behind


def test_start_from_two_threads_runs_one_pool_and_recovers_once(harness: Harness) -> None:
    engine = harness.engine(workers=2)
    engine.add(harness.photos(3), harness.target, "standard")
    starters = [threading.Thread(target=engine.start) for _ in range(2)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    assert len(engine_threads()) == 2
    assert engine.recover() == []  # never while its own workers are sending
    assert engine.wait_idle(timeout=30)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED] * 3


def test_only_one_engine_sends_from_a_queue_file(harness: Harness) -> None:
    first = harness.engine()
    first.start()
    other_store = QueueStore(harness.store.path)
    try:
        second = UploadEngine(other_store, lambda _t: None)
        with pytest.raises(QueueBusy):
            second.start()
        assert second.shutdown()
    finally:
        other_store.close()
    assert first.shutdown()
    # Once the first one stopped, another may take over.
    third = harness.engine()
    third.start()


def test_photos_added_while_running_join_the_run(harness: Harness) -> None:
    engine = harness.engine()
    first = engine.add(harness.photos(3), harness.target, "standard")
    engine.start(only=[i.id for i in first])
    second = engine.add(harness.photos(3, start=10), harness.target, "standard")
    engine.start(only=[i.id for i in second])
    assert engine.wait_idle(timeout=60)
    assert [i.state for i in harness.store.items()] == [ItemState.VERIFIED] * 6
    assert len(harness.srv.uploads()) == 6


def test_a_copy_that_cannot_be_checked_yet_is_not_called_a_mismatch(harness: Harness) -> None:
    harness.srv.set_faults(error_500=-1, paths=("/_s3/*",))  # storage down: downloads fail
    engine = harness.engine(verify_delays=(0.1,))
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    stored = harness.store.get(item.id)
    assert stored.state == ItemState.SYNCED and stored.image_id  # it reached the server
    assert stored.settled and stored.verify_attempts == 2
    assert (stored.error_message or "").startswith("The stored copy could not be checked")
    assert stored.image_id in (stored.next_step or "")
    assert stored.prepared_path and Path(stored.prepared_path).exists()  # kept until verified

    harness.srv.set_faults(error_500=0, paths=None)
    engine.retry(item.id)
    assert engine.wait_idle(timeout=30)
    done = harness.store.get(item.id)
    assert done.state == ItemState.VERIFIED and done.image_id == stored.image_id
    assert done.prepared_path is None
    assert len(harness.srv.uploads()) == 1


def test_a_stored_copy_that_differs_needs_a_decision(harness: Harness) -> None:
    srv = harness.srv

    class Corrupting(Recorder):
        """Damages the server's copy the moment the upload is recorded, before the check."""

        def item_changed(self, item: QueueItem) -> None:
            super().item_changed(item)
            if item.state == ItemState.SYNCED and item.image_id:
                stored = srv.store.get(item.image_id)
                assert stored is not None
                stored.data = stored.data[:-10] + b"0123456789"

    harness.recorder = Corrupting(harness.store.path)
    engine = harness.engine()
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    after = harness.store.get(item.id)
    assert after.state == ItemState.NEEDS_DECISION and after.error_code == "verify_mismatch"
    assert after.image_id and after.image_id in (after.error_message or "")
    assert "differs from the photo that was sent" in (after.error_message or "")
    assert after.prepared_path and Path(after.prepared_path).exists()


def test_deleting_the_lock_file_does_not_let_a_second_sender_start(harness: Harness) -> None:
    first = harness.engine()
    first.acquire()
    lock_file = harness.store.path.with_name(harness.store.path.name + ".lock")
    lock_file.unlink()  # a clean-up tool or a user removes it while photos are on their way
    second = harness.engine()
    with pytest.raises(QueueBusy):
        second.acquire()
    first.shutdown()
    second.acquire()  # free again once the first sender has stopped


def test_a_rate_limit_pause_is_waited_out_before_the_photo_is_marked_uploading(
    harness: Harness,
) -> None:
    engine = harness.engine(workers=1)
    engine.gate.pause_for(5.0)  # e.g. another request was answered 429 just now
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    engine.start()

    waiting = threading.Event()
    while harness.store.get(item.id).state in (ItemState.QUEUED, ItemState.PREPARING):
        waiting.wait(0.02)
    while engine.gate.pause_remaining() > 1.0:  # deep into the pause, the photo prepared
        waiting.wait(0.02)
    state = harness.store.get(item.id).state
    if engine.gate.pause_remaining() > 0:  # still inside the pause: a kill now loses nothing
        assert state == ItemState.READY
    assert engine.wait_idle(timeout=60)
    assert harness.store.get(item.id).state == ItemState.VERIFIED
