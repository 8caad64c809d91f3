"""When the SQLite store's writer finalises closed hours, and how much of its time that takes
(mixed into `SqliteMetricStore`; run by its writer thread only). The work itself is
`rollups.finalise`.

Why it yields (issue 18; queries too, see `_querying`): at a million series an hour's million (hour, series) pairs were
finalised in 0.25 s slices between ingest commits, each 500-pair transaction with an fsync
of its own, and known-series ingest fell from ~275k to ~115k points/s whenever a benchmark
overlapped it (the hour becomes finalisable 6 minutes past the next one). Now, while ingest
flows, the writer finalises in slices of at most FINALISE_BUSY_S and at most FINALISE_SHARE
of its time; idle, in FINALISE_SLICE_S slices back to back. Its commits skip the fsync
(`txn.derived`: they rewrite what chunks already hold durably), and `incremental_vacuum`, a
commit of its own, runs every VACUUM_EVERY_S while finalising rather than after each slice.

A slice's transactions hold SLICE_BATCH pairs (~15 ms of pure Python, where 500 took
~0.15-0.25 s at the same cost per pair), and a slice ends after the transaction during
which a query started: a query that arrives mid-slice shares the GIL for at most one short
transaction (after a restart with 11 hours to finalise, the one-host question's p90 was
70-90 ms). While queries keep coming, finalising still gets FINALISE_SHARE of the writer's
time (one transaction, then a rest four times as long), so it always finishes.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

from weir.metrics.timeutil import NS

from . import rollups, txn
from .schema import HOUR_NS

FINALISE_SLICE_S = 0.25  # the longest the writer finalises before looking at its queue again
SLICE_BATCH = 50  # pairs per transaction in the writer's slices (`weir migrate`: rollups.BATCH_SERIES)
FINALISE_BUSY_S = 0.05  # ... while ingest is flowing
FINALISE_SHARE = 0.2  # at most this share of the writer's time while ingest is flowing
VACUUM_EVERY_S = 30.0
QUERY_QUIET_S = 0.1  # a read ended this recently still counts as a query running


class Finalising:
    _w: sqlite3.Connection
    _queue: queue.SimpleQueue
    clock: Callable[[], float]
    finalise_grace_ns: int
    flush_seconds: float
    _finalisable: Callable[[int], int]
    _guard: Callable[..., object]

    def _finalising_init(self) -> None:
        self._finalise_at = 0.0  # monotonic time of the next look for hours to finalise
        self._finalise_rest = 0.0  # while ingest flows, finalising waits until this monotonic time
        self._vacuum_at = 0.0  # monotonic time of the next `incremental_vacuum` while finalising
        self._queries = 0  # reads running (`querying`): finalising yields to them as to ingest
        self._queries_lock = threading.Lock()
        self._query_ended = 0.0  # monotonic time the last read ended

    def queries_running(self) -> int:
        """Reads of the store in progress, or one ended under QUERY_QUIET_S ago (a query reads
        block after block): background work (finalising, exports) yields to them."""
        if self._queries:
            return self._queries
        return int(time.monotonic() - self._query_ended < QUERY_QUIET_S)

    def _querying(self) -> AbstractContextManager[None]:
        return self._counted_query()

    def querying(self) -> AbstractContextManager[None]:
        """Around a whole query (the query service's): from its series selection to its
        answer, not only its reads of points, background work yields to it."""
        return self._counted_query()

    @contextmanager
    def _counted_query(self) -> Iterator[None]:
        """Around a query's read of the store. Finalising is pure Python on the writer thread:
        at full speed it held the GIL for most of each 0.25 s slice, and a PromQL query
        asked just after a restart (a day's hours left to finalise) took 5x its time."""
        with self._queries_lock:
            self._queries += 1
        try:
            yield
        finally:
            with self._queries_lock:
                self._queries -= 1
                self._query_ended = time.monotonic()

    def _finalise_turn(self, now: float, ingested: bool) -> tuple[bool, bool]:
        """The writer's turn to finalise, if one is due: (busy, resting). Busy: more to do
        and no ingest waiting, so look at the queue without waiting; resting: more to do,
        but ingest comes first until `_finalise_rest`."""
        if now < self._finalise_rest:
            return False, True
        if now < self._finalise_at:
            return False, False
        ingest = ingested or not self._queue.empty() or self.queries_running() > 0
        more = bool(self._guard(self._finalise_some, FINALISE_BUSY_S if ingest else FINALISE_SLICE_S))
        ingest = ingest or self.queries_running() > 0  # a query came meanwhile: it ended the slice, now rest
        if more and ingest:
            self._finalise_rest = now + (time.monotonic() - now) / FINALISE_SHARE
        if not more:
            self._finalise_at = now + min(5.0, self.flush_seconds)
        return more and not ingest, more and ingest

    def _query_started(self) -> bool:
        """Whether a read of the store is running now: a slice ends at its next transaction."""
        return self._queries > 0

    def _closed_before(self) -> int:
        """Hours starting before this are closed for at least the grace: finalise them."""
        return (int(self.clock() * NS) - self.finalise_grace_ns) // HOUR_NS * HOUR_NS

    def _finalise_some(self, budget_s: float = FINALISE_SLICE_S) -> bool:
        """One slice of finalising (about `budget_s`, at least one transaction); True when
        there may be more to do. Freed pages go back to the file system when the backlog is
        done, or every VACUUM_EVERY_S meanwhile."""
        with txn.derived(self._w):  # rewritten from durable chunks: no fsync per transaction
            done = rollups.finalise(self._w, self._finalisable(self._closed_before()), budget_s, batch=SLICE_BATCH,
                                    stop=self._query_started)
            if done.pairs or self._vacuum_at:
                now = time.monotonic()
                if not done.pairs or now >= self._vacuum_at:
                    self._vacuum()
                    self._vacuum_at = 0.0 if not done.pairs else now + VACUUM_EVERY_S
        return done.pairs > 0

    def _finalise_all(self, progress: Callable[[int, int], None] | None = None) -> rollups.Progress:
        """Finalise every closed hour now; `progress(done, total)` after each transaction."""
        before = self._closed_before()
        total = rollups.backlog(self._w, before)
        done = rollups.Progress()
        while True:
            was = done.pairs
            rollups.finalise(self._w, before, 0.0, done)  # one transaction
            if progress is not None:
                progress(done.pairs, max(total, done.pairs))
            if done.pairs == was:
                break
        self._vacuum()
        return done

    def _vacuum(self) -> None:
        """Hand free pages back to the file system (folders created with auto_vacuum)."""
        self._w.execute("PRAGMA incremental_vacuum").fetchall()  # it frees a page per step
