"""RateGate: pauses, pacing when the budget runs low, cancel, and sharing between threads."""

from __future__ import annotations

import threading

import pytest

from maxupload.core.api.errors import Cancelled, RateLimitInfo
from maxupload.core.api.ratelimit import MAX_WAIT_S, RateGate

WALL_START = 1_800_000_000.0


class FakeTime:
    """A time source: a monotonic clock, a wall clock and a sleep that moves both forward."""

    def __init__(self) -> None:
        self.mono = 100.0
        self.sleeps: list[float] = []
        self.on_sleep: list[threading.Event] = []

    def monotonic(self) -> float:
        return self.mono

    def wall(self) -> float:
        return WALL_START + (self.mono - 100.0)

    def sleep(self, seconds: float, cancel: threading.Event | None) -> None:
        self.sleeps.append(seconds)
        for event in self.on_sleep:
            event.set()
        self.mono += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


@pytest.fixture
def gate(fake: FakeTime) -> RateGate:
    return RateGate(clock=fake.monotonic, wall=fake.wall, sleep=fake.sleep)


def start_times(gate: RateGate, fake: FakeTime, n: int) -> list[float]:
    times = []
    for _ in range(n):
        gate.wait()
        times.append(round(fake.mono - 100.0, 6))
    return times


def test_open_gate_lets_requests_through_without_sleeping(gate: RateGate, fake: FakeTime) -> None:
    assert start_times(gate, fake, 5) == [0.0] * 5
    assert fake.sleeps == []
    assert gate.pause_remaining() == 0.0


def test_pause_holds_requests_and_counts_down(gate: RateGate, fake: FakeTime) -> None:
    gate.pause_for(7.5)
    assert gate.pause_remaining() == 7.5
    fake.mono += 2.5
    assert gate.pause_remaining() == 5.0
    gate.wait()
    assert fake.mono - 100.0 == 7.5
    assert gate.pause_remaining() == 0.0


def test_pause_never_shortens_a_longer_pause(gate: RateGate) -> None:
    gate.pause_for(30)
    gate.pause_for(2)
    assert gate.pause_remaining() == 30
    gate.pause_for(45)
    assert gate.pause_remaining() == 45


def test_pause_is_capped_and_never_negative(gate: RateGate) -> None:
    gate.pause_for(10_000)
    assert gate.pause_remaining() == MAX_WAIT_S
    other = RateGate()
    other.pause_for(-5)
    assert other.pause_remaining() == 0.0


def test_healthy_budget_is_not_paced(gate: RateGate, fake: FakeTime) -> None:
    gate.update(RateLimitInfo(limit=1000, remaining=500, reset=int(WALL_START + 60)))
    assert start_times(gate, fake, 3) == [0.0, 0.0, 0.0]


def test_low_budget_is_spread_until_the_window_resets(gate: RateGate, fake: FakeTime) -> None:
    # 5 of 100 left, the window resets in 10 s: the 5 requests are spread over those 10 s,
    # and the sixth waits for the reset.
    gate.update(RateLimitInfo(limit=100, remaining=5, reset=int(WALL_START + 10)))
    times = start_times(gate, fake, 6)
    assert times == [0.0, 2.5, 5.0, 7.5, 10.0, 10.0]


def test_empty_budget_waits_for_the_reset(gate: RateGate, fake: FakeTime) -> None:
    gate.update(RateLimitInfo(limit=1000, remaining=1, reset=int(WALL_START + 42)))
    assert start_times(gate, fake, 2) == [0.0, 42.0]


def test_fresh_numbers_after_the_window_rolls_over(gate: RateGate, fake: FakeTime) -> None:
    gate.update(RateLimitInfo(limit=100, remaining=2, reset=int(WALL_START + 4)))
    assert start_times(gate, fake, 3) == [0.0, 4.0, 4.0]
    gate.update(RateLimitInfo(limit=100, remaining=99, reset=int(WALL_START + 64)))
    before = fake.mono
    assert start_times(gate, fake, 3) == [before - 100.0] * 3


def test_reset_in_the_past_does_not_hold_requests(gate: RateGate, fake: FakeTime) -> None:
    gate.update(RateLimitInfo(limit=100, remaining=0, reset=int(WALL_START - 30)))
    assert start_times(gate, fake, 2) == [0.0, 0.0]


def test_absent_headers_leave_known_values(gate: RateGate, fake: FakeTime) -> None:
    gate.update(RateLimitInfo(limit=100, remaining=3, reset=int(WALL_START + 9)))
    gate.update(RateLimitInfo())  # a response without X-RateLimit-* headers
    assert start_times(gate, fake, 3) == [0.0, 4.5, 9.0]


def test_cancel_before_waiting_raises(gate: RateGate) -> None:
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        gate.wait(cancel)


def test_cancel_during_a_pause_raises(gate: RateGate, fake: FakeTime) -> None:
    cancel = threading.Event()
    fake.on_sleep.append(cancel)  # the user presses cancel while the gate sleeps
    gate.pause_for(60)
    with pytest.raises(Cancelled):
        gate.wait(cancel)
    assert len(fake.sleeps) == 1


def test_cancel_wakes_a_thread_blocked_on_the_real_clock() -> None:
    gate = RateGate()
    gate.pause_for(MAX_WAIT_S)
    cancel = threading.Event()
    outcome: list[BaseException] = []

    def worker() -> None:
        try:
            gate.wait(cancel)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    cancel.set()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)


def test_threads_share_one_paced_budget() -> None:
    # Eight workers share the last request of the window on the real clock: one passes and
    # the rest are held for the window's reset (then cancelled to end the test).
    gate = RateGate()
    gate.update(RateLimitInfo(limit=1000, remaining=1, reset=10**10))
    cancel = threading.Event()
    passed: list[int] = []
    cancelled: list[int] = []
    lock = threading.Lock()
    first_passed = threading.Event()

    def worker(n: int) -> None:
        try:
            gate.wait(cancel)
            with lock:
                passed.append(n)
            first_passed.set()
        except Cancelled:
            with lock:
                cancelled.append(n)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    assert first_passed.wait(10)
    cancel.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert len(passed) == 1
    assert len(cancelled) == 7


def test_a_refilled_budget_lifts_the_pacing(gate: RateGate, fake: FakeTime) -> None:
    gate.update(RateLimitInfo(limit=1000, remaining=1, reset=int(WALL_START + 50)))
    gate.wait()  # the last request of the window: the next would wait for the reset
    gate.update(RateLimitInfo(limit=1000, remaining=900, reset=int(WALL_START + 60)))
    assert start_times(gate, fake, 2) == [0.0, 0.0]
    assert fake.sleeps == []


def test_requests_held_by_a_used_up_budget_show_in_the_countdown(fake: FakeTime) -> None:
    # With the window's budget used up, workers wait for its reset: the window's countdown must
    # say so instead of showing nothing while uploads stand still.
    entered = threading.Event()
    release = threading.Event()

    def blocking_sleep(seconds: float, cancel: threading.Event | None) -> None:
        entered.set()
        release.wait(10)
        fake.mono += seconds

    gate = RateGate(clock=fake.monotonic, wall=fake.wall, sleep=blocking_sleep)
    gate.update(RateLimitInfo(limit=1000, remaining=1, reset=int(WALL_START + 42)))
    gate.wait()  # the last request of the window
    assert gate.pause_remaining() == 0.0  # nothing is held yet
    waiter = threading.Thread(target=gate.wait, daemon=True)
    waiter.start()
    try:
        assert entered.wait(10)
        assert gate.pause_remaining() == 42.0
    finally:
        release.set()
        waiter.join(10)
    assert not waiter.is_alive()
    assert gate.pause_remaining() == 0.0  # the held request went at the reset
