"""Delivery lanes: each target's deliveries on threads of its own, bounded, never waited for."""

from __future__ import annotations

import threading

from weir.jobs.delivery import DeliveryLanes
from weir.metrics.alerts.ports import PendingDelivery


class Dispatcher:
    """Stands in for the dispatcher's `attempt`: deliveries to "stuck" wait until released."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.sent: list[int] = []
        self.lock = threading.Lock()

    def attempt(self, d: PendingDelivery) -> bool:
        if d.target == "stuck":
            self.release.wait(60)
        with self.lock:
            self.sent.append(d.id)
        return True


def delivery(i: int, target: str) -> PendingDelivery:
    return PendingDelivery(i, None, target, 0)  # type: ignore[arg-type]  # the lanes never look at the event


def test_a_stuck_target_fills_its_own_lane_only():
    disp = Dispatcher()
    done = threading.Semaphore(0)
    lanes = DeliveryLanes(disp, on_done=done.release, threads=2, queued=3)  # type: ignore[arg-type]
    try:
        stuck = [delivery(i, "stuck") for i in range(6)]
        assert [lanes.submit(d) for d in stuck] == [True] * 5 + [False]  # 2 running + 3 waiting
        assert lanes.full_targets() == ["stuck"] and sorted(lanes.in_flight()) == [0, 1, 2, 3, 4]
        assert lanes.submit(stuck[0]) is False  # already in flight
        for i in range(10, 20):
            assert lanes.submit(delivery(i, "ok"))
        for _ in range(10):
            assert done.acquire(timeout=60)
        assert sorted(disp.sent) == list(range(10, 20))  # all of them, while "stuck" still hangs
        disp.release.set()
        for _ in range(5):
            assert done.acquire(timeout=60)
        assert sorted(disp.sent) == [0, 1, 2, 3, 4, *range(10, 20)]
        assert lanes.full_targets() == [] and lanes.in_flight() == []
    finally:
        disp.release.set()
        lanes.stop()
    assert lanes.submit(delivery(99, "ok")) is False  # stopped: it stays pending in the store
