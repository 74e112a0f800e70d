"""A sliding-window rate limit (N requests per W seconds), as the Max AI API applies per app."""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class RateDecision:
    """The outcome for one request and the ``X-RateLimit-*`` values to send with it."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # Unix seconds when the window frees a slot
    retry_after: int  # seconds; meaningful when not allowed

    def headers(self) -> dict[str, str]:
        out = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            out["Retry-After"] = str(self.retry_after)
        return out


class SlidingWindow:
    """Counts the requests of the last ``window_s`` seconds; refused requests are not counted."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._hits: deque[float] = deque()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._hits and self._hits[0] <= now - self.window_s:
            self._hits.popleft()

    def hit(self, now: float) -> RateDecision:
        """Count one request at ``now`` if a slot is free."""
        with self._lock:
            self._expire(now)
            allowed = len(self._hits) < self.limit
            if allowed:
                self._hits.append(now)
            return self._decision(now, allowed)

    def peek(self, now: float) -> RateDecision:
        """The current values without counting a request (for answers sent before counting)."""
        with self._lock:
            self._expire(now)
            return self._decision(now, True)

    def _decision(self, now: float, allowed: bool) -> RateDecision:
        """The headers' values for the hits now in the window (the caller holds the lock)."""
        reset_at = (self._hits[0] if self._hits else now) + self.window_s
        return RateDecision(
            allowed=allowed,
            limit=self.limit,
            remaining=max(0, self.limit - len(self._hits)),
            reset=math.ceil(reset_at),
            retry_after=max(1, math.ceil(reset_at - now)),
        )

    def burst(self, now: float, retry_after: int) -> RateDecision:
        """A forced 429 (fault ``rate_limit_burst``): nothing left until ``retry_after``."""
        return RateDecision(
            allowed=False,
            limit=self.limit,
            remaining=0,
            reset=math.ceil(now + retry_after),
            retry_after=retry_after,
        )

    def reset(self) -> None:
        with self._lock:
            self._hits.clear()
