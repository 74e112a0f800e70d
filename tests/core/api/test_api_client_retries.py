"""Retry rules, checked from the sandbox's own request log: what is re-sent, what never is."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image

from maxupload.core.api.client import ApiClient, RetryPolicy
from maxupload.core.api.errors import (
    Cancelled,
    EhrSyncFailed,
    NetworkError,
    RateLimited,
    ServerError,
    UploadOutcomeUnknown,
    UploadServerError,
)
from maxupload.core.api.ratelimit import RateGate
from maxupload.sandbox import SandboxServer
from tests.plugins.contract import LeakGuard, settled_log
from tests.plugins.images import photo

UPLOADS = "/v3/notes/"


def jpeg_bytes(size: tuple[int, int] = (320, 240)) -> bytes:
    buf = io.BytesIO()
    photo(*size, seed=3).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def big_png(nbytes: int = 8_000_000) -> bytes:
    """An incompressible PNG of about ``nbytes``: more than the kernel's socket buffers hold."""
    side = int((nbytes / 3) ** 0.5)
    buf = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buf, "PNG", compress_level=0
    )
    return buf.getvalue()


class FakeTime:
    """A time source for the RateGate that records each wait instead of sleeping it."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.sleeps: list[float] = []
        self.cancel_on_sleep: threading.Event | None = None

    def monotonic(self) -> float:
        return 1000.0 + self.elapsed

    def wall(self) -> float:
        return time.time() + self.elapsed

    def sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        self.sleeps.append(seconds)
        if self.cancel_on_sleep is not None:
            self.cancel_on_sleep.set()
        self.elapsed += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def upload(client: ApiClient, sandbox: SandboxServer, data: bytes | None = None, **kw: Any) -> Any:
    data = data if data is not None else jpeg_bytes()
    png = data.startswith(b"\x89PNG")
    return client.upload_image(
        sandbox.demo.open_note_id,
        sandbox.demo.provider_id,
        data,
        "photo.png" if png else "photo.jpg",
        "image/png" if png else "image/jpeg",
        **kw,
    )


def api_entries(sandbox: SandboxServer) -> list[dict[str, Any]]:
    return settled_log(sandbox, path_prefix="/v")


# -- 429 ----------------------------------------------------------------------------------------


def test_429_burst_is_absorbed_and_the_photo_arrives_once(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], fake_time: FakeTime
) -> None:
    gate = RateGate(clock=fake_time.monotonic, wall=fake_time.wall, sleep=fake_time.sleep)
    client = sandbox_client(gate=gate, retry_policy=RetryPolicy())  # the real waits, on fake time
    sandbox.set_faults(rate_limit_burst=3, retry_after_s=2)
    data = jpeg_bytes()
    image = upload(client, sandbox, data)
    assert image.status == "synced"
    [stored] = sandbox.uploads()
    assert stored["id"] == image.id
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    entries = api_entries(sandbox)
    assert [e["status"] for e in entries] == [429, 429, 429, 200]
    assert all(e["method"] == "POST" for e in entries)
    # Each 429 held the shared gate for at least its Retry-After (2 s) before the re-send.
    assert len(fake_time.sleeps) == 3
    assert all(s >= 2.0 for s in fake_time.sleeps)


def test_429_after_too_many_tries_is_rate_limited(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], leak_guard: LeakGuard
) -> None:
    client = sandbox_client(
        retry_policy=RetryPolicy(min_rate_limit_wait=0.01, rate_limit_retries=2)
    )
    sandbox.set_faults(rate_limit_burst=-1, retry_after_s=0)
    with pytest.raises(RateLimited) as caught:
        upload(client, sandbox)
    entries = api_entries(sandbox)
    assert [e["status"] for e in entries] == [429, 429, 429]
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.trace_id == entries[-1]["traceId"]
    assert caught.value.retry_after == 0
    assert caught.value.rate_limit.remaining == 0
    assert sandbox.uploads() == []
    leak_guard.check_exception(caught.value)


def test_429_pause_is_shared_with_other_workers(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], fake_time: FakeTime
) -> None:
    gate = RateGate(clock=fake_time.monotonic, wall=fake_time.wall, sleep=fake_time.sleep)
    first = sandbox_client(gate=gate, retry_policy=RetryPolicy())
    second = sandbox_client(gate=gate, retry_policy=RetryPolicy())
    sandbox.set_faults(rate_limit_burst=1, retry_after_s=30)
    first.get_note(sandbox.demo.open_note_id)
    assert fake_time.sleeps and fake_time.sleeps[0] >= 30
    # The pause is over on the gate's clock; the second client goes straight through.
    slept = len(fake_time.sleeps)
    second.get_note(sandbox.demo.open_note_id)
    assert len(fake_time.sleeps) == slept


def test_cancel_while_paused_for_a_429_sends_nothing_more(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], fake_time: FakeTime
) -> None:
    cancel = threading.Event()
    fake_time.cancel_on_sleep = cancel  # the user presses Cancel during the pause
    gate = RateGate(clock=fake_time.monotonic, wall=fake_time.wall, sleep=fake_time.sleep)
    client = sandbox_client(gate=gate, retry_policy=RetryPolicy())
    sandbox.set_faults(rate_limit_burst=-1, retry_after_s=60)
    with pytest.raises(Cancelled):
        upload(client, sandbox, cancel=cancel)
    assert [e["status"] for e in api_entries(sandbox)] == [429]
    assert sandbox.uploads() == []


# -- connections that fail -------------------------------------------------------------------


def test_connection_dropped_before_the_body_was_read_is_sent_again(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    # The server hangs up (TCP reset) before reading the body. The body is larger than the
    # socket buffers, so its last chunk never leaves MaxUpload: the server cannot have the
    # photo, and sending again is safe.
    client = sandbox_client()
    data = big_png()
    sandbox.set_faults(drop_before_read=1)
    seen: list[tuple[int, int]] = []
    image = upload(client, sandbox, data, on_progress=lambda s, t: seen.append((s, t)))
    [stored] = sandbox.uploads()
    assert stored["id"] == image.id
    assert stored["sha256"] == hashlib.sha256(data).hexdigest()
    entries = api_entries(sandbox)
    assert [e["fault"] for e in entries] == ["drop_before_read", None]
    assert [e["attempt"] for e in entries] == [1, 2]
    assert entries[-1]["status"] == 200
    total = seen[-1][1]
    assert seen.count((0, total)) == 2  # progress started over for the second attempt
    assert seen[-1] == (total, total)


def test_get_dropped_before_reading_is_sent_again(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client()
    sandbox.set_faults(drop_before_read=2, methods=["GET"], paths=["/v3/notes/*"])
    assert client.get_note(sandbox.demo.open_note_id).id == sandbox.demo.open_note_id
    entries = api_entries(sandbox)
    assert [e["fault"] for e in entries] == ["drop_before_read", "drop_before_read", None]
    assert entries[-1]["status"] == 200


def test_upload_dropped_after_the_body_was_sent_is_never_sent_again(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], leak_guard: LeakGuard
) -> None:
    client = sandbox_client()
    sandbox.set_faults(drop_connection=1)
    with pytest.raises(UploadOutcomeUnknown) as caught:
        upload(client, sandbox)
    error = caught.value
    assert error.request_sent and error.copy_may_exist
    assert "copy may be stored" in str(error)
    assert "check the note" in error.next_step
    entries = api_entries(sandbox)
    assert len(entries) == 1 and entries[0]["fault"] == "drop_connection"
    assert len(sandbox.uploads()) == 1  # the server did store it: exactly why we ask the user
    leak_guard.check_exception(error)


def test_upload_answered_too_late_is_outcome_unknown(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client(upload_timeout=0.3)
    sandbox.set_faults(latency_ms=1500)
    with pytest.raises(UploadOutcomeUnknown) as caught:
        upload(client, sandbox)
    assert "within 0.3 s" in str(caught.value)
    sandbox.set_faults(latency_ms=0)
    assert len(api_entries(sandbox)) == 1
    assert len(sandbox.uploads()) == 1


def test_get_that_times_out_is_retried_then_reported(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client(timeout=0.3, max_retries=1)
    sandbox.set_faults(latency_ms=1500, methods=["GET"], paths=["/v3/notes/*"])
    with pytest.raises(NetworkError) as caught:
        client.get_note(sandbox.demo.open_note_id)
    assert not caught.value.copy_may_exist
    sandbox.set_faults(latency_ms=0)
    entries = api_entries(sandbox)
    assert [e["attempt"] for e in entries] == [1, 2]


# -- 5xx ----------------------------------------------------------------------------------------


def test_502_is_ehr_sync_failed_and_sent_once(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient], leak_guard: LeakGuard
) -> None:
    client = sandbox_client()
    sandbox.set_faults(ehr_fail=1)
    with pytest.raises(EhrSyncFailed) as caught:
        upload(client, sandbox)
    error = caught.value
    [entry] = api_entries(sandbox)
    assert entry["status"] == 502
    assert error.code == "unexpected_integration_error"
    assert error.message == "EHR sync failed"
    assert error.trace_id == entry["traceId"]
    assert error.copy_may_exist
    [stored] = sandbox.uploads()
    assert stored["status"] == "pending_upload"
    leak_guard.check_exception(error)


def test_upload_500_is_not_sent_again_and_may_have_stored_a_copy(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client()
    sandbox.set_faults(error_500=1)
    with pytest.raises(UploadServerError) as caught:
        upload(client, sandbox)
    assert isinstance(caught.value, ServerError)
    assert caught.value.copy_may_exist
    assert caught.value.code == "internal_error"
    [entry] = api_entries(sandbox)
    assert entry["status"] == 500 and caught.value.trace_id == entry["traceId"]


def test_get_500_is_retried_with_backoff(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client()
    sandbox.set_faults(error_500=2, methods=["GET"], paths=["/v3/notes/*"])
    assert client.get_note(sandbox.demo.open_note_id).id == sandbox.demo.open_note_id
    assert [e["status"] for e in api_entries(sandbox)] == [500, 500, 200]


def test_get_500_that_persists_is_a_server_error(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client(max_retries=2)
    sandbox.set_faults(error_500=-1, methods=["GET"], paths=["/v3/notes*"])
    with pytest.raises(ServerError) as caught:
        client.list_notes()
    entries = api_entries(sandbox)
    assert [e["status"] for e in entries] == [500, 500, 500]
    assert caught.value.trace_id == entries[-1]["traceId"]
    assert not caught.value.copy_may_exist


# -- cancel and progress ------------------------------------------------------------------------


def test_cancel_mid_upload_stops_the_body_and_stores_nothing(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    client = sandbox_client()
    data = big_png(1_500_000)
    cancel = threading.Event()
    seen: list[int] = []

    def progress(sent: int, total: int) -> None:
        seen.append(sent)
        if sent > 256 * 1024:
            cancel.set()

    with pytest.raises(Cancelled):
        upload(client, sandbox, data, on_progress=progress, cancel=cancel)
    assert max(seen) < len(data)
    entries = settled_log(sandbox, path_prefix="/v", at_least=1)
    assert len(entries) == 1  # never sent again
    assert entries[0]["status"] != 200
    # The server got a truncated body, or failed reading it when the connection closed.
    assert entries[0]["bodyBytes"] is None or entries[0]["bodyBytes"] < len(data)
    assert sandbox.uploads() == []


def test_cancel_before_start_sends_nothing(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        upload(sandbox_client(), sandbox, cancel=cancel)
    assert sandbox.request_log() == []


def test_progress_reaches_the_total_on_a_large_photo(
    sandbox: SandboxServer, sandbox_client: Callable[..., ApiClient]
) -> None:
    data = big_png(3_000_000)
    seen: list[tuple[int, int]] = []
    upload(sandbox_client(), sandbox, data, on_progress=lambda s, t: seen.append((s, t)))
    total = seen[-1][1]
    assert seen[-1] == (total, total)
    assert total > len(data)
    assert len(seen) >= len(data) // (64 * 1024)
    [stored] = sandbox.uploads()
    assert stored["size"] == len(data)
