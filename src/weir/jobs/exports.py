"""`weir serve`'s export thread: runs the export scheduler's passes, each hour after its
delay, and again after a failure with a back-off.

On AWS the `exporter` Lambda runs the same pass (`ExportScheduler.run_pending`) on an
EventBridge schedule and Lambda's own retries; here a thread does: a pass, then a wait until
the next hour is due (at most `poll_seconds`, so a clock jump such as a laptop waking up is
noticed), or after a failure 1 minute doubling up to 15 (`retry_seconds`,
`max_retry_seconds`); hours after a failed one wait for it, so the watermark never skips a
hole. Points ingested for a closed hour wake it, so the hour's quiet time counts from them.
`stop` lets an export in progress finish its hour. `failures` and `last_error` are what
`GET /status` reports. Between hours it waits while a query reads the store (`queries_running`),
and within an hour between series (`YieldingScan`, which `weir serve` wraps its store in).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from weir.metrics.export import render as export
from weir.metrics.export.schedule import ExportScheduler
from weir.metrics.ports import ExportState, PointBatch, PointScan
from weir.metrics.series import Series
from weir.metrics.timeutil import NS

log = logging.getLogger(__name__)
QUERY_YIELD_S = 5.0  # the longest an hour's export waits for queries to finish, before it and within it
QUERY_POLL_S = 0.01  # how often a waiting export looks again (each look takes the GIL from the query)


class ExportWorker:
    def __init__(
        self,
        scheduler: ExportScheduler,
        *,
        retry_seconds: float = 60,
        max_retry_seconds: float = 900,
        poll_seconds: float = 60,
        queries_running: Callable[[], int] = lambda: 0,
    ) -> None:
        self.scheduler = scheduler
        self.queries_running = queries_running
        self.destination = scheduler.destination
        self.retry_seconds = retry_seconds
        self.max_retry_seconds = max_retry_seconds
        self.poll_seconds = poll_seconds
        self.failures = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        # When (scheduler clock, ns) the thread's current wait ends; infinity while it runs a
        # pass and until it has read the marks for its next wait (points_ingested).
        self._wakes_at = float("inf")
        self._thread: threading.Thread | None = None

    @property
    def state(self) -> ExportState:
        return self.scheduler.state

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="weir-export", daemon=True)
        self._thread.start()

    def points_ingested(self, batch: PointBatch) -> None:
        """Ingest's listener: points for a closed hour (which the store marked changed) wake the
        thread, so it counts the hour's quiet time from now instead of its next poll.

        Only when the thread would otherwise sleep past the end of that quiet time: once woken
        it waits at most the delay, so later late batches leave it asleep. Waking it for every
        batch of a backfill ran a pass of state reads per batch beside ingest (~6% of
        `bench/ingest.py`, whose points are mostly in the last closed hour)."""
        now = int(self.scheduler.clock() * NS)
        if self._wakes_at <= now + self.scheduler.delay_ns:
            return
        if batch.timestamps and min(batch.timestamps) < export.floor_hour(now):
            self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        """Ask the thread to stop and wait; an export in progress finishes its hour first."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wakes_at = float("inf")  # a late batch from here on wakes it (points_ingested)
            try:
                self.scheduler.run_pending(out_of_time=self._between_hours)
            except Exception as exc:
                self.failures += 1
                self.last_error = str(exc)
                wait = min(self.max_retry_seconds, self.retry_seconds * 2 ** (self.failures - 1))
                log.exception("export to %s failed (attempt %d); retrying in %.0fs", self.destination,
                              self.failures, wait)
            else:
                self.failures = 0
                self.last_error = None
                wait = self._until_next_due()
            self._wakes_at = int(self.scheduler.clock() * NS) + wait * NS
            self._wake.wait(wait)
            self._wake.clear()

    def _between_hours(self) -> bool:
        """Before each hour's export: True to stop. While a query reads the store it waits
        (up to QUERY_YIELD_S an hour): an export is pure Python on this thread, and a backlog of
        hours (a restart after loading 30 days of history: 720 of them, ~0.15 s each) made
        every query meanwhile several times slower, sharing the GIL."""
        deadline = time.monotonic() + QUERY_YIELD_S
        while self.queries_running() and time.monotonic() < deadline and not self._stop.is_set():
            self._stop.wait(0.01)
        return self._stop.is_set()

    def _until_next_due(self) -> float:
        now = int(self.scheduler.clock() * NS)
        next_due = self.scheduler.next_due_ns(now)
        # Poll at least every poll_seconds so a clock jump (a laptop waking up) is noticed.
        return max(0.5, min(self.poll_seconds, (next_due - now) / NS))


class YieldingScan:
    """The store's scan as the export thread reads it: between two series, while a query
    reads the store, it waits (at most QUERY_YIELD_S in all per scan, so an hour is exported
    however busy the server is).

    Why: the export of an hour is pure Python (~0.5 s for 1,000 series of 10 s points) and
    holds the GIL for all of it but its reads. Waiting only between hours, a query that
    arrived within an hour shared the GIL with the rest of that hour's export: in the first
    seconds after a restart with hours to export, the one-host question took ~2x its time.
    A series takes ~0.5 ms to render, so a query now waits at most about that long."""

    def __init__(self, source: PointScan, queries_running: Callable[[], int]) -> None:
        self.source = source
        self.queries_running = queries_running

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]:
        waited = 0.0
        for item in self.source.scan(start_ns, end_ns):
            if waited < QUERY_YIELD_S and self.queries_running():
                t0 = time.monotonic()
                while self.queries_running() and waited + time.monotonic() - t0 < QUERY_YIELD_S:
                    time.sleep(QUERY_POLL_S)
                waited += time.monotonic() - t0
            yield item
