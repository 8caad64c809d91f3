"""A circuit breaker per delivery target: a target that keeps failing stops being tried.

After `failures` failed attempts in a row a target's circuit opens: its deliveries stay
pending, untried, for `open_seconds` (doubling at each re-open, up to `max_open_seconds`),
so a dead or hanging webhook costs one attempt per pause instead of one timeout per event.
Then it is half-open: one delivery goes through as a probe; its success closes the circuit,
its failure opens it again for longer. Failures that retrying cannot fix (a deleted
subscription, a refused destination) say nothing about the target's health and are not
counted. The state lives in memory: a restart starts every target closed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CircuitPolicy:
    failures: int = 5
    open_seconds: float = 30.0
    max_open_seconds: float = 300.0  # `weir serve`: [alerts] backoff_max_seconds


@dataclass
class _State:
    failures: int = 0  # in a row
    opened: int = 0  # times opened in a row (the pause doubles each time)
    open_until: float = 0.0
    probing: bool = False  # a half-open probe is in flight


class Circuits:
    """Thread-safe: deliveries to different targets run on different threads."""

    def __init__(self, policy: CircuitPolicy = CircuitPolicy(), clock: Callable[[], float] | None = None) -> None:
        import time

        self.policy = policy
        self.clock = clock or time.time
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def allows(self, target: str) -> bool:
        """Whether a delivery to `target` may be attempted now; a half-open circuit lets one
        probe through (and says no to the rest until it has finished)."""
        with self._lock:
            s = self._states.get(target)
            if s is None or s.failures < self.policy.failures:
                return True
            if self.clock() < s.open_until or s.probing:
                return False
            s.probing = True
            return True

    def blocked(self) -> list[str]:
        """The targets not to fetch deliveries for now: open, or half-open with a probe out."""
        now = self.clock()
        with self._lock:
            return [t for t, s in self._states.items()
                    if s.failures >= self.policy.failures and (now < s.open_until or s.probing)]

    def next_change(self) -> float | None:
        """When the earliest open circuit turns half-open (clock seconds), or None."""
        with self._lock:
            times = [s.open_until for s in self._states.values()
                     if s.failures >= self.policy.failures and not s.probing]
        return min(times) if times else None

    def succeeded(self, target: str) -> None:
        with self._lock:
            s = self._states.pop(target, None)
        if s is not None and s.failures >= self.policy.failures:
            log.info("alert target %s answered again: its circuit is closed", target)

    def failed(self, target: str) -> None:
        with self._lock:
            s = self._states.setdefault(target, _State())
            s.failures += 1
            s.probing = False
            if s.failures < self.policy.failures:
                return
            pause = min(self.policy.max_open_seconds, self.policy.open_seconds * 2 ** s.opened)
            s.opened += 1
            s.open_until = self.clock() + pause
            failures = s.failures
        log.warning("alert target %s failed %d times in a row: its circuit is open, not tried again for %g s",
                    target, failures, pause)

    def done_without_verdict(self, target: str) -> None:
        """An attempt that says nothing about the target (a permanent failure) ended."""
        with self._lock:
            s = self._states.get(target)
            if s is not None:
                s.probing = False
