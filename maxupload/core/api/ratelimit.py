"""RateGate: one shared limiter that keeps every worker of an engine inside the API's rate limit.

The Max AI API allows 1000 requests per minute per app and says so in ``X-RateLimit-*``
headers. The gate pauses all workers after a 429 (``pause_for``) and, when the remaining budget
runs low, spreads the requests that are left over the time until the window resets, so the
app slows down before it hits the wall instead of after.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from maxupload.core.api.errors import Cancelled, RateLimitInfo

#: Start pacing when fewer than this share of the window's requests remain.
LOW_FRACTION = 0.1
#: Never wait longer than this for one pause or one paced slot (guards against odd headers).
MAX_WAIT_S = 300.0

Sleep = Callable[[float, threading.Event | None], None]


def _default_sleep(seconds: float, cancel: threading.Event | None) -> None:
    """Sleep, waking early when ``cancel`` is set (the caller re-checks it)."""
    if cancel is not None:
        cancel.wait(seconds)
    else:
        time.sleep(seconds)


class RateGate:
    """Thread-safe gate every API request passes through (``wait``) before it is sent.

    ``clock`` (monotonic seconds), ``wall`` (Unix seconds) and ``sleep`` are time sources,
    injectable so the gate's own tests can run on a fake clock.
    """

    def __init__(
        self,
        *,
        low_fraction: float = LOW_FRACTION,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Sleep = _default_sleep,
    ) -> None:
        self._low_fraction = low_fraction
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._lock = threading.Lock()
        self._paused_until = 0.0  # monotonic
        self._next_slot = 0.0  # monotonic; earliest start of the next paced request
        self._last_start = float("-inf")  # monotonic; when the latest request was let through
        self._limit: int | None = None
        self._remaining: int | None = None
        self._reset_mono: float | None = None  # the window's reset, on the monotonic clock
        self._waiting = 0  # threads held in wait() right now

    def update(self, info: RateLimitInfo) -> None:
        """Take in the rate-limit headers of a response (absent values are left as they were)."""
        with self._lock:
            if info.limit is not None:
                self._limit = info.limit
            if info.remaining is not None:
                self._remaining = info.remaining
            now = self._clock()
            if info.reset is not None:
                ahead = min(max(info.reset - self._wall(), 0.0), MAX_WAIT_S)
                self._reset_mono = now + ahead
            if info.remaining is not None:
                # Fresh numbers re-plan the next slot (a refilled budget lifts the pacing).
                self._next_slot = self._last_start + self._spacing(now)

    def pause_for(self, seconds: float) -> None:
        """Hold every request for ``seconds`` from now (never shortens a longer pause)."""
        seconds = min(max(seconds, 0.0), MAX_WAIT_S)
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)

    def pause_remaining(self) -> float:
        """Seconds requests are still held, for a countdown display (0.0 when none are).

        Counts a pause (``pause_for``) and, while requests wait, the pacing that holds them
        (a used-up budget holds them until the window resets).
        """
        with self._lock:
            held_until = self._paused_until
            if self._waiting:
                held_until = max(held_until, self._next_slot)
            return max(0.0, held_until - self._clock())

    def wait(self, cancel: threading.Event | None = None) -> None:
        """Block until a request may be sent; raise ``Cancelled`` if ``cancel`` is set first."""
        held = False
        try:
            while True:
                if cancel is not None and cancel.is_set():
                    raise Cancelled("Cancelled while waiting for the rate limit.")
                with self._lock:
                    now = self._clock()
                    start_at = max(self._paused_until, self._next_slot)
                    if start_at <= now:
                        self._claim(now)
                        if held:
                            self._waiting -= 1
                            held = False
                        return
                    if not held:
                        self._waiting += 1
                        held = True
                self._sleep(min(start_at - now, MAX_WAIT_S), cancel)
        finally:
            if held:  # cancelled (or failed) while held
                with self._lock:
                    self._waiting -= 1

    def _claim(self, now: float) -> None:
        """Record a request starting now and work out when the next one may start."""
        if self._remaining is not None:
            self._remaining = max(self._remaining - 1, 0)
        self._last_start = now
        self._next_slot = now + self._spacing(now)

    def _spacing(self, now: float) -> float:
        """Seconds to keep between requests: 0 while the budget is healthy."""
        if self._remaining is None or self._reset_mono is None:
            return 0.0
        until_reset = self._reset_mono - now
        if until_reset <= 0:
            # The window has rolled over; the next response brings fresh numbers.
            self._reset_mono = None
            self._remaining = None
            return 0.0
        if self._remaining <= 0:
            return min(until_reset, MAX_WAIT_S)
        threshold = (self._limit or 0) * self._low_fraction
        if self._limit is not None and self._remaining >= threshold:
            return 0.0
        if self._limit is None and self._remaining > 10:
            return 0.0
        return min(until_reset / self._remaining, MAX_WAIT_S)


#: How many 429 answers in a row the queue absorbs for one photo before it waits longer
#: (``retry_later``): each one puts the photo back to ``ready`` (nothing stored) first.
RATE_LIMIT_RESENDS = 5


def rate_limited_wait(remaining: float) -> dict[str, Any]:
    """The queue row's fields while a photo waits out a 429: not stored, sent again by itself."""
    return {
        "message": (
            "the server asked to slow down (too many requests); nothing was stored; "
            f"sending again in {max(remaining, 0.0):.0f} s"
        ),
        "error_kind": None,
        "error_code": None,
        "error_message": None,
        "next_step": None,
        "next_attempt_at": None,
    }
