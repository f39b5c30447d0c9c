"""Per-user rate limiting: a flood of turns gets a clear error, not a slower server for everyone.

One server keeps its buckets in memory; servers sharing a database keep them there (memory/buckets.py),
so a person switching replicas, or talking to several at once, still gets `per_minute` turns in all.
"""

from __future__ import annotations

import time

from memory import buckets
from memory.store_base import MemoryEngine


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

    async def wait(self, user: str) -> float:
        """`wait_time`, with the interface the shared limiter has."""
        return self.wait_time(user)


class SharedRateLimiter:
    """The same token bucket per user, kept in the shared database: every replica counts the same turns."""

    def __init__(self, store: MemoryEngine, per_minute: int, burst: int) -> None:
        self.store = store
        self.rate = per_minute / 60.0
        self.burst = float(max(1, burst))

    async def wait(self, user: str) -> float:
        """0 when the user may go ahead now (and takes a token), else seconds until they may."""
        if self.rate <= 0:
            return 0.0
        return await self.store.run_write(buckets.take, user, time.time(), self.rate, self.burst)
