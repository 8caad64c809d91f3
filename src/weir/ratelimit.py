"""Per-client request rate limits for `weir serve`, shaped like API Gateway usage plans.

A token bucket per verified API key (or per source address when no key was checked): `rate` requests
a second on average, bursts of up to `burst`. In AWS the usage plan attached to the API
key does this; locally `--rate-limit` turns it on. Buckets idle for a minute are dropped,
so the table stays as small as the set of active clients.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from weir.errors import WeirError

_IDLE_SECONDS = 60.0


class RateLimitedError(WeirError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimiter:
    def __init__(self, rate: float, burst: float | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError("rate must be a positive number of requests per second")
        self.rate = rate
        self.burst = burst if burst is not None else max(1.0, 2 * rate)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client → (tokens, last refill)
        self._lock = threading.Lock()
        self._last_prune = clock()

    def take(self, client: str) -> None:
        """Spend one token of `client`'s bucket or raise RateLimitedError."""
        now = self.clock()
        with self._lock:
            if now - self._last_prune > _IDLE_SECONDS:
                self._prune(now)
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
                raise RateLimitedError(
                    f"rate limit of {self.rate:g} requests/s (bursts of {self.burst:g}) exceeded; "
                    f"retry in {wait:.2f}s",
                    retry_after=wait,
                )
            self._buckets[client] = (tokens - 1.0, now)

    def _prune(self, now: float) -> None:
        self._buckets = {c: b for c, b in self._buckets.items() if now - b[1] < _IDLE_SECONDS}
        self._last_prune = now
