"""Moving the SQLite store's head into chunks, a slice of series per transaction (mixed into
`SqliteMetricStore`; run by its writer thread only).

Why slices: with a million series one flush was one transaction of a million chunk rows,
and no ingest was acknowledged for over a minute. Now a flush takes the head aside (new
points go to a fresh head), and each slice of FLUSH_SLICE series is one transaction that
writes the slice's chunks and marks its (hour, series) pairs pending; the writer serves its
queue between slices. The log rows the flush covers are deleted in the last slice only.

What stays true meanwhile (docs/architecture.md, "The SQLite store"):
- Reads see every point exactly once: a slice's series leave the flushing head under the
  store's lock in the commit that writes their chunks, and readers copy the heads and pin
  their snapshot under that lock.
- Hours with a point still in the flushing head are not answered from rollups (they join
  `_head_hours` for reads) and are not finalised (`_finalisable`).
- A kill between slices loses nothing: the log still holds every point of the flush, and
  the replay writes the slices already written again; reads, finalising and expiry merge
  rows in write order, so a duplicate is one point and a later write still wins.
- A failed slice (a full disk) is rolled back whole and stays in the flushing head, to be
  retried RETRY_S later; its points are still in the log.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from itertools import islice

from . import chunks, txn
from .head import HeadSeries
from .schema import HOUR_NS

FLUSH_SLICE = 20_000  # series per flush transaction
# A flush by size also waits for this many points per series on average: at 1M series and
# 1M points every point became a chunk row of its own. Age (`flush_seconds`) flushes any head.
FLUSH_POINTS_PER_SERIES = 8
RETRY_S = 1.0  # after a failed slice, before the writer tries it again


class SlicedFlush:
    _lock: threading.Lock
    _w: sqlite3.Connection
    _head: dict[int, HeadSeries]
    _head_hours: set[int]
    _head_points: int
    _log_applied: int
    _finalise_at: float
    _index: Callable[[], None]
    flush_points: int

    def _flush_init(self) -> None:
        # The head a flush is moving: the series whose chunks are not written yet, the hours
        # its points fall in, its points (raw, as `_head_points`), the last log row it covers.
        self._flushing: dict[int, HeadSeries] = {}
        self._flushing_hours: set[int] = set()
        self._flushing_points = 0
        self._flush_upto = 0
        self._flush_retry_at = 0.0

    def _heads(self) -> tuple[dict[int, HeadSeries], ...]:
        """The heads a read must see, oldest first (call with the lock held)."""
        return (self._flushing, self._head) if self._flushing else (self._head,)

    def _in_flight(self, sid: int) -> bool:
        """Whether the series has points in memory (call with the lock held)."""
        return sid in self._head or sid in self._flushing

    def _size_due(self) -> bool:
        """Whether the head is large enough to flush: `flush_points`, and on average
        FLUSH_POINTS_PER_SERIES points per series (the head is folded to count them)."""
        if self._head_points < self.flush_points:
            return False
        with self._lock:
            self._index()
            return self._head_points >= FLUSH_POINTS_PER_SERIES * len(self._head)

    def _step_due(self, now: float) -> bool:
        return bool(self._flushing) and now >= self._flush_retry_at

    def _flush(self) -> None:
        """Move every point in memory into chunks now: the flush in progress, then the head."""
        while self._flushing:
            self._flush_step()
        self._flush_start()
        while self._flushing:
            self._flush_step()

    def _flush_start(self) -> None:
        """Take the head aside for a flush; new points go to a fresh head meanwhile."""
        with self._lock:
            self._index()
            if not self._head or self._flushing:
                return
            self._flushing, self._head = self._head, {}
            self._flushing_hours, self._head_hours = self._head_hours, set()
            self._flushing_points, self._head_points = self._head_points, 0
            self._flush_upto = self._log_applied

    def _flush_step(self) -> None:
        """Write one slice of the flushing head; the last one also deletes the log rows."""
        flushing = self._flushing
        part = list(islice(flushing, FLUSH_SLICE))
        if not part:
            return
        last = len(part) == len(flushing)
        rows = []
        for sid in part:
            # A chunk never crosses an hour: that is what bounds `scan`.
            rows += chunks.encode_rows(sid, *flushing[sid].sorted_unique())
        touched = {(r[1] - r[1] % HOUR_NS, r[0]) for r in rows}
        w = self._w
        try:
            w.execute("BEGIN IMMEDIATE")
            w.executemany(chunks.INSERT_SQL, rows)
            w.executemany("INSERT OR IGNORE INTO pending (hour, series_id) VALUES (?, ?)", sorted(touched))
            if last:
                w.execute("DELETE FROM log WHERE id <= ?", (self._flush_upto,))
            with self._lock:  # readers see the slice's series in chunks or in memory, never both
                w.execute("COMMIT")
                for sid in part:
                    self._flushing_points -= len(flushing.pop(sid).ts)
                if last:
                    self._flushing_hours = set()
                    self._flushing_points = 0
        except BaseException:
            txn.rollback(w)  # a full disk: the slice stays in memory and its points in the log
            self._flush_retry_at = time.monotonic() + RETRY_S
            raise
        self._finalise_at = 0.0

    def _finalisable(self, before: int) -> int:
        """Hours starting before this may be finalised: `before`, but never an hour with
        points still in the flushing head (they are not in its chunks yet)."""
        return min(before, min(self._flushing_hours, default=before))

    def _expiring_in_memory(self, raw_cut: int) -> bool:
        """Whether a point in memory falls in an hour that expires now (call with the lock held)."""
        return any(h < raw_cut for h in self._head_hours) or any(h < raw_cut for h in self._flushing_hours)
