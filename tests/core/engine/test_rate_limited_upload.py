"""A 429 on the upload itself, in the engine: the photo goes back to 'ready' (nothing stored)
before each wait and is sent again by the queue; when Max AI keeps refusing, the photo waits for
a retry with a next step about the rate limit, not about the connection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maxupload.core.api.client import ApiClient
from maxupload.core.api.models import Target
from maxupload.core.api.ratelimit import RATE_LIMIT_RESENDS, RateGate
from maxupload.core.engine.scheduler import UploadEngine
from maxupload.core.queue.model import ItemState
from maxupload.sandbox import SandboxServer
from tests.core.engine.test_engine import Harness
from tests.plugins.contract import FAST_RETRIES

UPLOADS = {"paths": ["/v*/notes/*/images"], "methods": ["POST"]}


@pytest.fixture
def harness(sandbox: SandboxServer, tmp_path: Path) -> Iterator[Harness]:
    h = Harness(sandbox, tmp_path)
    yield h
    h.close()


def _engine(h: Harness, **kw: object) -> UploadEngine:
    """An engine whose clients wait out a 429 in a few milliseconds."""
    gate = RateGate()

    def factory(target: Target) -> ApiClient:
        return ApiClient(
            target.base_url, h.key, target.org_id, gate=gate, retry_policy=FAST_RETRIES
        )

    engine = UploadEngine(
        h.store, factory, listener=h.recorder, gate=gate, verify_delays=(0.2,), **kw
    )
    h.engines.append(engine)
    return engine


def test_each_429_puts_the_photo_back_to_ready_then_it_is_sent_once(
    harness: Harness, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(rate_limit_burst=2, retry_after_s=0, **UPLOADS)
    engine = _engine(harness, retry_delays=())
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    done = harness.store.get(item.id)
    assert done.state == ItemState.VERIFIED
    assert harness.arrivals(done) == 1
    states = harness.recorder.states(item.id)
    sent = states[states.index("uploading") :]
    assert [s for s in sent if s in ("uploading", "ready")] == [
        "uploading",
        "ready",  # the first 429: not stored, waits
        "uploading",
        "ready",  # the second 429
        "uploading",
    ]


def test_a_persistent_429_ends_with_a_rate_limit_step(
    harness: Harness, sandbox: SandboxServer
) -> None:
    sandbox.set_faults(rate_limit_burst=-1, retry_after_s=0, **UPLOADS)
    engine = _engine(harness, retry_delays=())
    (item,) = engine.add(harness.photos(1), harness.target, "standard")
    harness.run(engine)
    stuck = harness.store.get(item.id)
    assert stuck.state == ItemState.RETRY_LATER and stuck.settled
    assert "nothing was stored" in (stuck.error_message or "")
    step = stuck.next_step or ""
    assert "slow down" in step and f"queue retry {item.id}" in step
    assert "connection" not in step
    assert harness.recorder.states(item.id).count("uploading") == RATE_LIMIT_RESENDS + 1
    assert sandbox.uploads() == []
