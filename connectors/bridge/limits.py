"""Per-tenant request rate limits: one token bucket per tenant, refilled continuously."""

from __future__ import annotations

import math
import threading
import time


class RateLimiter:
    """``burst`` requests at once, then ``per_second`` on average; ``take`` answers how long to
    wait (0 when the request may go ahead)."""

    def __init__(self, per_second: float, burst: int) -> None:
        self.per_second = per_second
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, when counted)
        self._lock = threading.Lock()

    def waiting(self, tenant: str, now: float | None = None) -> float:
        """Seconds until ``tenant``'s bucket has a token again (0: it has one), spending nothing."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(tenant, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
        if tokens >= 1:
            return 0.0
        return (1 - tokens) / self.per_second if self.per_second > 0 else math.inf

    def take(self, tenant: str, now: float | None = None) -> float:
        """Spend one token of ``tenant``'s bucket; seconds until one is there if it is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(tenant, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.per_second)
            if tokens >= 1:
                self._buckets[tenant] = (tokens - 1, now)
                return 0.0
            self._buckets[tenant] = (tokens, now)
            return (1 - tokens) / self.per_second if self.per_second > 0 else math.inf
