"""Delivery lanes: each alert target's deliveries on threads of its own.

`weir serve`'s dispatcher thread fetches what is due and hands each delivery to its
target's lane; it never waits for one. A lane runs at most `threads` deliveries at once and
holds at most `queued` more; a full lane's target is left out of the next fetch (its
deliveries stay pending in the store, untouched) until a delivery finishes, which wakes the
dispatcher. So a webhook that hangs until its timeout ties up its own two threads and
nothing else: the log, SNS and every other webhook go on at their own pace, and each
outcome is recorded the moment it is known (`Dispatcher.attempt`).

Lane threads are daemon threads that end when their lane is idle: a delivery hanging at
shutdown does not hold up the exit (it stays pending and is sent again after a restart,
with its stable event id).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from weir.metrics.alerts.notify import Dispatcher
from weir.metrics.alerts.ports import PendingDelivery

log = logging.getLogger(__name__)

THREADS_PER_TARGET = 2
QUEUED_PER_TARGET = 8


class _Lane:
    def __init__(self) -> None:
        self.waiting: deque[PendingDelivery] = deque()
        self.ids: set[int] = set()  # waiting or being delivered
        self.threads = 0


class DeliveryLanes:
    def __init__(self, dispatcher: Dispatcher, *, on_done: Callable[[], None],
                 threads: int = THREADS_PER_TARGET, queued: int = QUEUED_PER_TARGET) -> None:
        self.dispatcher = dispatcher
        self.on_done = on_done
        self.threads = threads
        self.capacity = threads + queued
        self._lanes: dict[str, _Lane] = {}
        self._lock = threading.Lock()
        self._stopping = False

    def full_targets(self) -> list[str]:
        with self._lock:
            return [t for t, lane in self._lanes.items() if len(lane.ids) >= self.capacity]

    def in_flight(self) -> list[int]:
        with self._lock:
            return [i for lane in self._lanes.values() for i in lane.ids]

    def submit(self, d: PendingDelivery) -> bool:
        """Queue a delivery on its target's lane; False when the lane is full (it stays pending)."""
        with self._lock:
            if self._stopping:
                return False
            lane = self._lanes.setdefault(d.target, _Lane())
            if d.id in lane.ids or len(lane.ids) >= self.capacity:
                return False
            lane.ids.add(d.id)
            lane.waiting.append(d)
            start = lane.threads < self.threads
            if start:
                lane.threads += 1
        if start:
            threading.Thread(target=self._run, args=(d.target, lane), name=f"weir-deliver-{d.target}"[:60],
                             daemon=True).start()
        return True

    def stop(self) -> None:
        """Take no more deliveries; what waits in a lane stays pending in the store."""
        with self._lock:
            self._stopping = True
            for lane in self._lanes.values():
                lane.waiting.clear()

    def _run(self, target: str, lane: _Lane) -> None:
        while True:
            with self._lock:
                if not lane.waiting or self._stopping:
                    lane.threads -= 1
                    if not lane.ids and not lane.threads and self._lanes.get(target) is lane:
                        del self._lanes[target]
                    return
                d = lane.waiting.popleft()
            try:
                self.dispatcher.attempt(d)
            except Exception:  # the store failed to record it: it stays pending and is retried
                if not self._stopping:
                    log.exception("recording the delivery of alert %s to %s failed", d.event.event_id, target)
            finally:
                with self._lock:
                    lane.ids.discard(d.id)
                self.on_done()
