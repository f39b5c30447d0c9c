"""Per-user rate limiting: a flood of turns gets a clear error, not a slower server for everyone."""

from __future__ import annotations

import time


class RateLimiter:
    """A token bucket per user: `per_minute` turns on average, `burst` at once; 0 turns it off."""

    def __init__(self, per_minute: int, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))
        self._buckets: dict[str, tuple[float, float]] = {}

    def wait_time(self, user: str) -> float:
        """0 when the user may go ahead now (and takes a token), else seconds until they may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, last = self._buckets.get(user, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[user] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self._buckets[user] = (tokens - 1.0, now)
        return 0.0
