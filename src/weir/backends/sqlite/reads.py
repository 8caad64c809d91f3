"""The SQLite store's reads for the one read path (mixed into `SqliteMetricStore`): points
as arrays, rollup records, sketches, and the estimate that bounds a query before it reads.

Each read copies what it needs of the heads (the head, and the head a flush is moving:
`flush.py`) and pins a snapshot of the database under the store's lock (a flush slice or a
finalisation commits under it, so each point is seen once, in a chunk or in memory), then
reads the rows outside the lock on its thread's own connection: a long query never holds up
the writer acknowledging ingest.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from weir.errors import TooManyPointsError

from . import chunks, rollups, schema
from .head import HeadSeries, count, spans, window
from .sqltext import fill

if TYPE_CHECKING:
    import sqlite3

    from weir.metrics.arrays import HourStarts, RollupBlock, SeriesArrays

HOUR_NS = schema.HOUR_NS


class ArrayReads:
    _lock: threading.Lock
    _head: dict[int, HeadSeries]
    _head_hours: set[int]
    _flushing_hours: set[int]
    _heads: Callable[[], tuple[dict[int, HeadSeries], ...]]
    _index: Callable[[], None]
    _reader: Callable[[], sqlite3.Connection]
    _wait_ready: Callable[[], None]
    _querying: Callable[[], AbstractContextManager[None]]  # `finalising.Finalising`'s

    def read_arrays(self, series_ids: list[int], start_ns: int, end_ns: int,
                    limit: int | None = None) -> SeriesArrays:
        """Points in [start, end) of these series as arrays, by ascending series id (numpy).
        More than `limit` points: TooManyPointsError, before any value is decoded."""
        with self._querying():
            return self._read_arrays(series_ids, start_ns, end_ns, limit)

    def _read_arrays(self, series_ids: list[int], start_ns: int, end_ns: int, limit: int | None) -> SeriesArrays:
        self._wait_ready()
        bounds = schema.window_bounds(start_ns, end_ns)
        conn = self._reader()
        head = {}
        # The heads are copied and the chunks' snapshot taken under the lock, as a flush slice
        # commits under it: each point is seen once. The chunks are then read outside the
        # lock, so a long query never holds up the writer acknowledging ingest.
        with self._lock:
            self._index()
            heads = self._heads()
            for sid in series_ids:
                w = window(heads, sid, start_ns, end_ns)
                if w is not None:
                    head[sid] = w
            _snapshot(conn)
        in_head = sum(len(ts) for ts, _ in head.values())
        left = None if limit is None else limit - in_head
        try:
            if limit is not None and in_head > limit:
                raise TooManyPointsError(limit, in_head)
            rows = chunks.select_rows(conn, list(series_ids), bounds, (start_ns, end_ns), left)
        finally:
            conn.execute("COMMIT")
        return chunks.read_arrays(rows, head, start_ns, end_ns)

    def read_records(self, level: str, series_ids: list[int], start_ns: int, end_ns: int) -> RollupBlock:
        """Rollup records in [start, end): `1h` for the whole hours that are finalised (not
        pending, nothing in the head); `1m` for the hours whose raw points have expired
        (converted whole hours, oldest first: never overlapping a raw point). Like `read`,
        the head's hours and the snapshot are taken under the lock, the rows read outside."""
        with self._querying():
            return self._read_records(level, series_ids, start_ns, end_ns)

    def _read_records(self, level: str, series_ids: list[int], start_ns: int, end_ns: int) -> RollupBlock:
        from weir.metrics.arrays import RollupBlock

        self._wait_ready()
        if not series_ids or end_ns <= start_ns:
            return RollupBlock.empty(level)
        first = -(-start_ns // HOUR_NS) * HOUR_NS
        end = end_ns // HOUR_NS * HOUR_NS
        if level == "1h" and end <= first:
            return RollupBlock.empty(level)
        conn = self._reader()
        if level == "1m" and rollups.minutes_until(conn) <= start_ns:
            return RollupBlock.empty(level)  # no hour of the range has turned into minutes (it only grows)
        with self._lock:
            self._index()
            in_head = {h for h in self._head_hours | self._flushing_hours if first <= h < end}
            _snapshot(conn)
        try:
            if level == "1m":  # only hours converted whole: no raw point is left in them
                upto = min(end_ns, rollups.minutes_until(conn))
                if upto <= start_ns:
                    return RollupBlock.empty(level)
                cols = rollups.read_minutely(conn, list(series_ids), start_ns - start_ns % HOUR_NS, upto)
                return RollupBlock(level, [(start_ns, upto)], cols).only([(start_ns, upto)])
            busy = rollups.pending_hours(conn, first, end) | in_head
            cols = rollups.read_hourly(conn, list(series_ids), first, end)
        finally:
            conn.execute("COMMIT")
        covered = spans(first, end, busy)
        return RollupBlock(level, covered, cols).only(covered)

    def read_hours(self, series_ids: list[int], start_ns: int, end_ns: int) -> HourStarts | None:
        """PromQL's hourly windows (`weir.promql.hourly`): the hourly records of the whole
        hours in [start, end) that are finalised, and the point each holds in its first
        millisecond, from one snapshot (hours whose points have expired are not
        covered). None when a finalised hour has no first record
        (finalised before schema 4) or holds two points of one millisecond: the caller
        then reads the points."""
        import numpy as np

        from weir.metrics.arrays import HourStarts, RollupBlock
        from weir.metrics.records import WHOLE_MS

        with self._querying():
            self._wait_ready()
            first = -(-start_ns // HOUR_NS) * HOUR_NS
            end = end_ns // HOUR_NS * HOUR_NS
            if not series_ids or end <= first:
                return HourStarts(RollupBlock.empty("1h"), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
            conn = self._reader()
            with self._lock:
                self._index()
                in_head = {h for h in self._head_hours | self._flushing_hours if first <= h < end}
                _snapshot(conn)
            try:
                # hours whose points have expired are left out: PromQL reads points only, and
                # answers the same whether or not a window is whole hours
                kept = max(first, -(-rollups.minutes_until(conn) // HOUR_NS) * HOUR_NS)
                covered = spans(kept, end, rollups.pending_hours(conn, kept, end) | in_head) if kept < end else []
                records = RollupBlock("1h", covered, rollups.read_hourly(conn, list(series_ids), first, end))
                firsts = rollups.read_firsts(conn, list(series_ids), first, end)
            finally:
                conn.execute("COMMIT")
        records = records.only(covered)
        keep = np.zeros(len(firsts["t"]), dtype=bool)
        for a, b in covered:
            keep |= (firsts["t"] >= a) & (firsts["t"] < b)
        firsts = {k: v[keep] for k, v in firsts.items()}
        if not _same_hours(records.cols, firsts) or ((firsts["flags"] & WHOLE_MS) == 0).any():
            return None
        at_start = firsts["first_ts"] - firsts["t"] < 1_000_000
        return HourStarts(records, firsts["sid"][at_start], firsts["first_ts"][at_start], firsts["first"][at_start])

    def read_sketches(self, series_ids: list[int], covered: list[tuple[int, int]]):
        """(series id, hour, sketch) of the finalised hours within `covered`."""
        self._wait_ready()
        conn = self._reader()
        out = []
        for a, b in covered:
            out += rollups.read_sketches(conn, list(series_ids), a, b)
        return out

    def estimate_points(self, series_ids: list[int], start_ns: int, end_ns: int) -> int:
        """An upper bound of the points `read` would return, from chunk metadata (`n` of the
        chunks overlapping the window: a chunk spans at most an hour) and the head, reading
        no point: what lets a query be refused before it loads anything."""
        self._wait_ready()
        low, high, t_min_high = schema.window_bounds(start_ns, end_ns)
        total = 0
        with self._lock:
            self._index()
            heads = self._heads()
            for sid in series_ids:
                total += count(heads, sid, start_ns, end_ns)
        conn = self._reader()
        for i in range(0, len(series_ids), 500):
            part = series_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            total += conn.execute(
                fill("SELECT COALESCE(SUM(n), 0) FROM chunks WHERE series_id IN ({marks}) "
                     "AND t_max >= ? AND t_max < ? AND t_min < ?", marks=marks),
                (*part, low, high, t_min_high)).fetchone()[0]
        return total


def _snapshot(conn) -> None:
    """Open a read transaction on `conn` and pin its snapshot (WAL: at the first read)."""
    conn.execute("BEGIN")
    try:
        conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchall()
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _same_hours(a: dict, b: dict) -> bool:
    """Whether two sets of records (`sid`, `t` columns, each pair once) are of the same
    (series, hour) pairs."""
    import numpy as np

    if len(a["t"]) != len(b["t"]):
        return False
    oa, ob = np.lexsort((a["t"], a["sid"])), np.lexsort((b["t"], b["sid"]))
    return bool(np.array_equal(a["sid"][oa], b["sid"][ob]) and np.array_equal(a["t"][oa], b["t"][ob]))
