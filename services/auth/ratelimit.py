"""Per-caller token buckets: ``rate`` requests a second on average, bursts up to ``burst``."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class RateLimiter:
    """Token buckets keyed by caller; ``take`` answers 0 (allowed) or seconds to wait."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, caller: str) -> float:
        """Spend one token of ``caller``; 0.0 if allowed, else the wait before one is free."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, then = self._buckets.get(caller, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens >= 1.0:
            self._buckets[caller] = (tokens - 1.0, now)
            return 0.0
        self._buckets[caller] = (tokens, now)
        if len(self._buckets) > 100_000:
            self._forget_full(now)
        return (1.0 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop buckets that have refilled: they hold no information."""
        full = [
            k for k, (t, at) in self._buckets.items() if t + (now - at) * self.rate >= self.burst
        ]
        for key in full:
            del self._buckets[key]


def retry_after_header(wait_s: float) -> str:
    """Whole seconds, at least 1, as ``Retry-After`` wants them."""
    return str(max(1, math.ceil(wait_s)))
