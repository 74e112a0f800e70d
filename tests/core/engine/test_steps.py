"""The engine's per-photo step on its own: process_one with real ports, on the caller's thread."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path

from maxupload.core.api.client import ApiClient, RetryPolicy
from maxupload.core.api.models import Target
from maxupload.core.api.ratelimit import RateGate
from maxupload.core.api.stored_copies import StoredCopies
from maxupload.core.engine.ports import Job, StepPorts
from maxupload.core.engine.steps import ClientPool, process_one
from maxupload.core.imaging.prepared_copies import PreparedCopies
from maxupload.core.intake import hash_file
from maxupload.core.queue.model import ItemState, NewItem, QueueItem
from maxupload.core.queue.store import QueueStore
from maxupload.sandbox import SandboxServer
from tests.plugins.images import photo, write_jpeg

FAST = RetryPolicy(base_delay=0.05, max_delay=0.2)


class SoloRun:
    """Run control for one photo at a time on the caller's thread (no scheduler, no workers)."""

    def __init__(self) -> None:
        self.progress: list[tuple[int, int, int]] = []
        self.claimed: list[int] = []

    def is_stopping(self) -> bool:
        return False

    def run_ids(self) -> set[int] | None:
        return None

    @contextlib.contextmanager
    def claim(self, item_id: int) -> Iterator[Job | None]:
        self.claimed.append(item_id)
        yield None

    def report_progress(self, item_id: int, sent: int, total: int) -> None:
        self.progress.append((item_id, sent, total))


@contextlib.contextmanager
def _clients(srv: SandboxServer, gate: RateGate) -> Iterator[ClientPool]:
    def factory(target: Target) -> ApiClient:
        return ApiClient(
            target.base_url, srv.demo.api_key, target.org_id, gate=gate, retry_policy=FAST
        )

    pool = ClientPool(factory)
    try:
        yield pool
    finally:
        pool.close()


def _ports(
    store: QueueStore, tmp: Path, run: SoloRun, pool: ClientPool, gate: RateGate
) -> StepPorts:
    """The real parts a worker would pass; the pool's clients share its rate gate."""
    return StepPorts(
        store=store,
        copies=PreparedCopies(tmp / "copies"),
        stored=StoredCopies(),
        gate=gate,
        clients=pool,
        run=run,
        cache_dir=tmp / "prepared",
        retry_delays=(0.2,),
        verify_delays=(0.2,),
    )


def _queue(
    store: QueueStore, srv: SandboxServer, tmp: Path, note_id: str, n: int
) -> list[QueueItem]:
    target = Target(
        org_id=srv.demo.org_id,
        note_id=note_id,
        provider_id=srv.demo.provider_id,
        patient_label="Rivera, Elena",
        base_url=srv.base_url,
    )
    paths = [
        write_jpeg(tmp / f"step-{i}.jpg", photo(200, 150, seed=i), metadata=True) for i in range(n)
    ]
    entries = [NewItem(p, p.stat().st_size, hash_file(p)) for p in paths]
    return store.add(entries, target, "standard")


def test_one_photo_goes_from_queued_to_verified_in_one_call(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    run, gate = SoloRun(), RateGate()
    with QueueStore(tmp_path / "queue.sqlite3") as store, _clients(sandbox, gate) as pool:
        (item,) = _queue(store, sandbox, tmp_path, sandbox.demo.open_note_id, 1)
        ports = _ports(store, tmp_path, run, pool, gate)
        before = set(threading.enumerate())
        process_one(item, Job(item.id), ports)
        started = [t.name for t in threading.enumerate() if t not in before]
        assert not [n for n in started if n.startswith("maxupload-")]  # no worker of its own
        done = store.get(item.id)
        assert done.state == ItemState.VERIFIED
        assert done.prepared_path is None and not list((tmp_path / "prepared").iterdir())
        (upload,) = sandbox.uploads()
        assert upload["sha256"] == done.sha256_sent
        assert run.progress and run.progress[-1][1] == run.progress[-1][2]  # all bytes sent
        assert done.image_id is not None
        assert isinstance(ports.stored, StoredCopies)
        kept = ports.stored.get(done.image_id)  # verification's one download, kept for the preview
        assert kept is not None and hashlib.sha256(kept[1]).hexdigest() == done.sha256_sent


def test_a_signed_note_fails_the_photo_and_its_waiting_siblings_unsent(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    run, gate = SoloRun(), RateGate()
    with QueueStore(tmp_path / "queue.sqlite3") as store, _clients(sandbox, gate) as pool:
        first, second = _queue(store, sandbox, tmp_path, sandbox.demo.signed_note_id, 2)
        process_one(first, Job(first.id), _ports(store, tmp_path, run, pool, gate))
        assert store.get(first.id).state == ItemState.FAILED
        other = store.get(second.id)
        assert other.state == ItemState.FAILED and other.attempts == 0  # never asked the server
        assert other.error_message and other.error_message.startswith("Not sent:")
        assert run.claimed == [second.id]  # changed only while held off the workers
        assert sandbox.uploads() == []
