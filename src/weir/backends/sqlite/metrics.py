"""The metrics store on SQLite: a write-ahead log, an in-memory head, and packed chunks.

How a write travels (see docs/architecture.md for the measurements behind it):
1. The request thread packs the batch into one blob and queues it for the writer thread.
2. The writer takes every queued batch, inserts one `log` row per batch in a single
   transaction, commits (WAL, fsync), then appends the points to the head (a dict of
   per-series lists) and resolves the futures: the client is answered only now.
3. When the head is large or old, the writer flushes it into `chunks` and deletes the
   log rows it covered, in one transaction. After a crash the log is replayed into the head.

Queries read chunks and the head under one lock, so a flush is never seen half-done.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

from weir.durability import settle
from weir.errors import StorageError, UnavailableError
from weir.metrics.points import merge, trim
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series
from weir.metrics.timeutil import NS

from . import schema, series_index
from .chunks import SCAN_SQL, merge_rows, pack_batch, scan_result, unpack_batch
from .head import HeadSeries, exclusive

log = logging.getLogger(__name__)

CHUNK_POINTS = 4096
FLUSH_SLICE = 20_000  # series per flush transaction (see _flush_start)
# A flush by size also waits for this many points per series: at 1M series and 1M points
# every point became a chunk row of its own. Age (`flush_seconds`) still flushes any head.
FLUSH_POINTS_PER_SERIES = 8
_STOP = object()


class SqliteMetricStore:
    backend = "sqlite"

    def __init__(
        self,
        path: Path,
        *,
        retention_seconds: int,
        flush_points: int = 1_000_000,
        flush_seconds: float = 300.0,
        sweep_seconds: float = 600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lockfile = exclusive(path.with_suffix(".lock"))
        self.retention_ns = retention_seconds * NS
        self.flush_points = flush_points
        self.flush_seconds = flush_seconds
        self.sweep_seconds = sweep_seconds
        self.clock = clock
        self.series_epoch = 0  # bumped whenever series are forgotten; callers drop caches
        self._w = schema.connect(str(path))
        schema.migrate(self._w)
        series_index.migrate(self._w)
        self._r = schema.connect(str(path), readonly=True)
        self._readers = threading.local()
        self._reader_conns: list = []
        self._lock = threading.Lock()
        # Series live in the database, not in memory (see series_index): start-up reads counts only.
        self.index = series_index.SqliteSeriesIndex(self._w, self._reader)
        self._head: dict[int, HeadSeries] = {}
        # A flush in progress (see _flush_start): the head it took, moved into chunks a slice
        # of series per transaction; readers see it beside the head until it is done.
        self._flushing: dict[int, HeadSeries] | None = None
        self._flush_todo: list[int] = []
        self._flush_upto = 0  # the last log row the flushing head covers
        self._pending: list[tuple[list[int], list[int], list[float]]] = []
        self._head_points = 0
        self._log_applied = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._writer = threading.Thread(target=self._run, name="weir-sqlite-writer", daemon=True)
        self._writer.start()

    # -- the port -----------------------------------------------------------------

    def ready(self) -> bool:
        return self._ready.is_set()

    def get_series(self, series_id: int) -> Series | None:
        self._wait_ready()
        return self.index.get(series_id)

    def get_series_many(self, ids: list[int]) -> dict[int, Series]:
        """The stored series among `ids`, by id (for ingest's batched lookups)."""
        self._wait_ready()
        return self.index.get_many(ids)

    def metric_names(self) -> dict[str, int]:
        self._wait_ready()
        return self.index.counts()

    def series_of(self, name: str) -> list[Series]:
        self._wait_ready()
        return self.index.select(name, {})

    def select(self, name: str, filters: dict[str, str], *, limit: int | None = None,
               after: str | None = None) -> list[Series]:
        self._wait_ready()
        return self.index.select(name, filters, limit=limit, after=after)

    def count_selected(self, name: str, filters: dict[str, str], cap: int) -> int:
        self._wait_ready()
        return self.index.count(name, filters, cap)

    def label_stats(self):
        self._wait_ready()
        return self.index.tsdb_rows()

    def chunk_stats(self) -> tuple[int, int, int]:
        """(chunks, oldest and newest chunk end in ms) for the cardinality view: from the
        `chunks_age` index, so the times are those of whole chunks, not of single points."""
        self._wait_ready()
        n, lo, hi = self._reader().execute("SELECT COUNT(*), MIN(t_max), MAX(t_max) FROM chunks").fetchone()
        return n, (lo or 0) // 1_000_000, (hi or 0) // 1_000_000

    def append(self, batch: PointBatch) -> None:
        self._wait_ready()
        future: Future = Future()
        self._queue.put((batch, pack_batch(batch), future))
        settle(future)

    def read(self, series_ids, start_ns, end_ns):
        self._wait_ready()
        out = {}
        sql = (
            "SELECT t_min, t_max, ts, vals FROM chunks "
            "WHERE series_id = ? AND t_max >= ? AND t_max < ? AND t_min < ? ORDER BY id"
        )
        low, high, t_min_high = schema.window_bounds(start_ns, end_ns)
        conn = self._reader()
        heads = {}
        # The head is copied and the chunks' snapshot taken under the lock, as a flush commits
        # under it: a flush is seen wholly or not at all. The chunks are then read outside
        # the lock, so a long query never holds up the writer acknowledging ingest.
        with self._lock:
            self._index()
            for sid in series_ids:
                head = self._head_window(sid, start_ns, end_ns)
                if head is not None:
                    heads[sid] = head
            conn.execute("BEGIN")
            try:
                conn.execute("SELECT 1 FROM chunks LIMIT 1").fetchall()  # WAL: the snapshot starts at the first read
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        try:
            for sid in series_ids:
                rows = conn.execute(sql, (sid, low, high, t_min_high)).fetchall()
                head = heads.get(sid)
                if rows or head:
                    out[sid] = (rows, head)
        finally:
            conn.execute("COMMIT")
        return {sid: trim(*merge_rows(rows, head), start_ns, end_ns) for sid, (rows, head) in out.items()}

    def _head_window(self, sid: int, start_ns: int, end_ns: int) -> tuple[list[int], list[float]] | None:
        """The series' unflushed points in [start, end): the head, and the head a flush is
        moving (older: the head's points win at equal timestamps). Call with the lock held."""
        parts = []
        for head in (self._flushing, self._head):
            entry = head.get(sid) if head is not None else None
            if entry is not None:
                window = entry.window(start_ns, end_ns)
                if window[0]:
                    parts.append(window)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else merge(parts, each_sorted=True)

    def _reader(self):
        """This thread's read-only connection: a read transaction belongs to a connection, and
        queries run on several threads at once (the gateway's work pool)."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._readers.conn = schema.connect(str(self.path), readonly=True)
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def estimate_points(self, series_ids: list[int], start_ns: int, end_ns: int) -> int:
        """An upper bound of the points `read` would return, from chunk metadata (`n` of the
        chunks overlapping the window: a chunk spans at most an hour) and the head, reading
        no point: what lets a query be refused before it loads anything."""
        self._wait_ready()
        low, high, t_min_high = schema.window_bounds(start_ns, end_ns)
        total = 0
        with self._lock:
            self._index()
            for head in (self._flushing, self._head):
                for sid in series_ids if head is not None else ():
                    entry = head.get(sid)  # type: ignore[union-attr]  # not None: see the loop
                    if entry is not None:
                        ts = entry.ts
                        total += bisect_left(ts, end_ns) - bisect_left(ts, start_ns) if entry.ordered else len(ts)
        conn = self._reader()
        for i in range(0, len(series_ids), 500):
            part = series_ids[i : i + 500]
            marks = ",".join("?" * len(part))
            total += conn.execute(
                f"SELECT COALESCE(SUM(n), 0) FROM chunks WHERE series_id IN ({marks}) "  # nosec B608  # '?' marks only
                "AND t_max >= ? AND t_max < ? AND t_min < ?", (*part, low, high, t_min_high)).fetchone()[0]
        return total

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]:
        """Every series with points in [start, end), by ascending series id.

        The chunk query is a bounded range on the `chunks_age` index (see
        `schema.window_bounds`), so its cost follows the window's data, not the store's.
        The matching chunk rows and a copy of the head are taken under the lock, as in
        `read`, so a flush running meanwhile is seen either wholly or not at all; the
        points are decoded and merged afterwards, outside the lock.
        """
        self._wait_ready()
        with self._lock:
            self._index()
            rows = self._r.execute(SCAN_SQL, schema.window_bounds(start_ns, end_ns)).fetchall()
            sids = set(self._head) | set(self._flushing or ())
            windows = ((sid, self._head_window(sid, start_ns, end_ns)) for sid in sids)
            head = {sid: w for sid, w in windows if w is not None}
        series = self.index.get_many({r[0] for r in rows} | head.keys())
        return scan_result(rows, head, series.get, start_ns, end_ns)

    def flush(self) -> None:
        """Move the head into chunks now (also done on its own when it grows or ages)."""
        self._call("flush")

    def sweep(self) -> None:
        """Delete chunks past retention now (also done on its own periodically)."""
        self._call("sweep")

    def close(self) -> None:
        if self._lockfile.closed:
            return
        if self._writer.is_alive():
            self._call("stop")
            self._writer.join()
        self._r.close()
        for conn in self._reader_conns:
            conn.close()
        self._w.close()
        self._lockfile.close()

    # -- the writer thread ----------------------------------------------------------

    def _wait_ready(self) -> None:
        if self._failed is not None:
            raise StorageError(f"the metrics store has stopped: {self._failed}")
        if not self._ready.wait(timeout=60):
            raise UnavailableError("the metrics store is still recovering its log; retry shortly")

    def _call(self, command: str) -> None:
        future: Future = Future()
        self._queue.put((command, None, future))
        future.result()

    def _run(self) -> None:
        try:
            self._recover()
        except BaseException as exc:  # surfaced to every caller by _wait_ready
            log.exception("recovering the metrics log failed")
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        last_flush = last_sweep = time.monotonic()
        while True:
            try:  # a flush in progress takes its next slice at once when no ingest is waiting
                jobs = [self._queue.get(timeout=1.0 if self._flushing is None else 0.001)]
            except queue.Empty:
                jobs = []
            while True:
                try:
                    jobs.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            appends = [j for j in jobs if isinstance(j[0], PointBatch)]
            if appends:
                self._commit(appends)
            commands = [j for j in jobs if not isinstance(j[0], PointBatch)]
            now = time.monotonic()
            if self._flushing is not None:
                self._guard(self._flush_step)  # one slice, then back to acknowledging ingest
            elif self._size_due() or (self._head_points and now - last_flush >= self.flush_seconds):
                self._guard(self._flush_start)
                last_flush = now
            if now - last_sweep >= self.sweep_seconds:
                self._guard(self._sweep)
                last_sweep = now
            for command, _, future in commands:
                try:
                    if command == "flush" or command == "stop":
                        self._flush()
                    elif command == "sweep":
                        self._sweep()
                except Exception as exc:  # reported to the caller, writer carries on
                    future.set_exception(_storage_error(exc))
                else:
                    future.set_result(None)
                if command == "stop":
                    return

    def _guard(self, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            log.exception("background %s failed; will retry", job.__name__)

    def _commit(self, jobs: list) -> None:
        w = self._w
        try:
            w.execute("BEGIN IMMEDIATE")
            last: int | None = 0
            inserted = []
            for batch, blob, _ in jobs:
                if batch.new_series:
                    inserted += self.index.insert(w, batch.new_series)
                last = w.execute("INSERT INTO log (data) VALUES (?)", (blob,)).lastrowid
            w.execute("COMMIT")
        except Exception as exc:
            if w.in_transaction:
                w.execute("ROLLBACK")
            self.series_epoch += 1
            error = _storage_error(exc)
            for _, _, future in jobs:
                future.set_exception(error)
            return
        self.index.committed(inserted)
        with self._lock:
            for batch, _, _ in jobs:
                self._pending.append((batch.series_ids, batch.timestamps, batch.values))
                self._head_points += len(batch)
            self._log_applied = last or self._log_applied
        for _, _, future in jobs:
            future.set_result(None)

    def _index(self) -> None:
        """Fold committed batches into the per-series head (call with the lock held).

        Done lazily, by the next query or flush, so the acknowledgement path stays short
        and each point is grouped by series once.
        """
        head = self._head
        for sids, tss, vals in self._pending:
            for sid, t, v in zip(sids, tss, vals):
                entry = head.get(sid)
                if entry is None:
                    head[sid] = HeadSeries(t, v)
                else:
                    if t <= entry.ts[-1]:
                        entry.ordered = False
                    entry.ts.append(t)
                    entry.vals.append(v)
        self._pending.clear()

    def _recover(self) -> None:
        for log_id, blob in self._w.execute("SELECT id, data FROM log ORDER BY id"):
            sids, tss, vals = unpack_batch(blob)
            self._pending.append((sids, tss, vals))
            self._head_points += len(vals)
            self._log_applied = log_id
        if self._head_points:
            log.info("replayed %d points from the write-ahead log", self._head_points)

    def _size_due(self) -> bool:
        """Whether the head is large enough to flush: `flush_points`, and on average
        FLUSH_POINTS_PER_SERIES points per series (the head is folded to count them)."""
        if self._head_points < self.flush_points:
            return False
        with self._lock:
            self._index()
            return self._head_points >= FLUSH_POINTS_PER_SERIES * len(self._head)

    def _flush(self) -> None:
        """Move the whole head into chunks now: the flush in progress, then what is left."""
        while self._flushing is not None:
            self._flush_step()
        self._flush_start()
        while self._flushing is not None:
            self._flush_step()

    def _flush_start(self) -> None:
        """Take the head aside for a flush; new points go to a fresh head meanwhile.

        In slices (docs/architecture.md): a million series used to be one transaction that
        held up every ingest acknowledgement for over a minute. Each slice of FLUSH_SLICE
        series is its own transaction, ingest served between them; the log rows go in the
        last. Readers see the flushing head beside the chunks so far (a point in both is the
        same point); a crash mid-flush replays the log, and reads merge the duplicates.
        """
        with self._lock:
            self._index()
            if not self._head:
                return
            self._flushing, self._head = self._head, {}
            self._flush_todo = list(self._flushing)
            self._flush_upto = self._log_applied
            self._head_points = 0

    def _flush_step(self) -> None:
        flushing = self._flushing
        if flushing is None:
            return
        part, self._flush_todo = self._flush_todo[:FLUSH_SLICE], self._flush_todo[FLUSH_SLICE:]
        rows = []
        for sid in part:
            ts, vals = flushing[sid].sorted_unique()
            # A chunk never crosses an hour: that is what bounds `scan`.
            for i, j in schema.split_at_hours(ts):
                for k in range(i, j, CHUNK_POINTS):
                    e = min(j, k + CHUNK_POINTS)
                    t, v = ts[k:e], vals[k:e]
                    rows.append((sid, t[0], t[-1], len(t), array("q", t).tobytes(), array("d", v).tobytes()))
        last = not self._flush_todo
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.executemany("INSERT INTO chunks (series_id, t_min, t_max, n, ts, vals) VALUES (?,?,?,?,?,?)", rows)
            if last:
                w.execute("DELETE FROM log WHERE id <= ?", (self._flush_upto,))
        except Exception:
            w.execute("ROLLBACK")
            self._flush_todo = part + self._flush_todo  # this slice again, next time
            raise
        with self._lock:
            w.execute("COMMIT")
            if last:
                self._flushing = None

    def _sweep(self) -> None:
        """Delete chunks past retention, then the series left with no point.

        Which series are left is worked out between two short transactions, not inside one:
        with a million series that takes seconds, and a write transaction would hold up every
        ingest commit meanwhile. Only this (the writer) thread writes, so the candidates stay
        valid; those that got points in the head meanwhile are kept.
        """
        cutoff = int(self.clock() * NS) - self.retention_ns
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.execute("DELETE FROM chunks WHERE t_max < ?", (cutoff,))
        except Exception:
            w.execute("ROLLBACK")
            raise
        w.execute("COMMIT")
        empty = [sid for (sid,) in w.execute(
            "SELECT id FROM series WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE chunks.series_id = series.id)")]
        with self._lock:
            self._index()
            empty = [sid for sid in empty if sid not in self._head and sid not in (self._flushing or ())]
        if not empty:
            return
        w.execute("BEGIN IMMEDIATE")
        try:
            gone = self.index.delete(w, empty)
        except Exception:
            w.execute("ROLLBACK")
            raise
        with self._lock:
            w.execute("COMMIT")
            self.index.deleted(gone)
            if gone:
                self.series_epoch += 1


def _storage_error(exc: BaseException) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    return StorageError(f"the metrics store could not write: {exc}; nothing of this request was stored")
