"""Writes per organisation: a token bucket each, in this process's memory.

A bucket holds up to ``burst`` writes and refills at ``rate`` per second of the app's
clock; a write takes one, and a write finding it empty is refused with the time until
one is back. O(1) per request and no store access, so the bid path does not feel it.

Per process on purpose: the limit is a guard against a runaway client hogging the
server, not a quota, and a count shared between worker processes would need a store
write on every bid. With N workers an organisation may write up to N times the rate.
"""

from __future__ import annotations

import math
import threading
from datetime import datetime


class WriteLimiter:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        # org id -> (tokens left, when they were counted)
        self._buckets: dict[str, tuple[float, datetime]] = {}
        self._lock = threading.Lock()

    def take(self, org_id: str, now: datetime) -> int | None:
        """Take one write for ``org_id`` at ``now``; None if allowed, else the whole
        seconds until a write will be (``Retry-After``)."""
        with self._lock:
            tokens, then = self._buckets.get(org_id, (self.burst, now))
            # A clock set back (tests move it by hand) refills nothing and takes nothing.
            elapsed = max((now - then).total_seconds(), 0.0)
            tokens = min(self.burst, tokens + elapsed * self.rate)
            if tokens >= 1:
                self._buckets[org_id] = (tokens - 1, now)
                return None
            self._buckets[org_id] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
