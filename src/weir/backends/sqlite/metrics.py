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

import fcntl
import logging
import queue
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

import msgspec

from weir.durability import settle
from weir.errors import StorageError, UnavailableError
from weir.metrics.points import sorted_unique, trim
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series
from weir.metrics.timeutil import NS

from . import schema
from .chunks import SCAN_SQL, merge_rows, pack_batch, scan_result, unpack_batch

log = logging.getLogger(__name__)

CHUNK_POINTS = 4096
_STOP = object()


class _HeadSeries:
    """One series' unflushed points, in arrival order, and whether that order is by time.

    Most series receive points in time order; for them a query bisects the lists and
    copies only its window, instead of copying and sorting everything since the last flush.
    """

    __slots__ = ("ts", "vals", "ordered")

    def __init__(self, t: int, v: float) -> None:
        self.ts = [t]
        self.vals = [v]
        self.ordered = True

    def sorted_unique(self) -> tuple[list[int], list[float]]:
        return (self.ts, self.vals) if self.ordered else sorted_unique(self.ts, self.vals)

    def window(self, start: int, end: int) -> tuple[list[int], list[float]]:
        """A copy of the points in [start, end), sorted, one per timestamp."""
        if self.ordered:
            lo, hi = bisect_left(self.ts, start), bisect_left(self.ts, end)
            return self.ts[lo:hi], self.vals[lo:hi]
        return trim(*sorted_unique(list(self.ts), list(self.vals)), start, end)


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
        self._lockfile = _exclusive(path.with_suffix(".lock"))
        self.retention_ns = retention_seconds * NS
        self.flush_points = flush_points
        self.flush_seconds = flush_seconds
        self.sweep_seconds = sweep_seconds
        self.clock = clock
        self.series_epoch = 0  # bumped whenever series are forgotten; callers drop caches
        self._w = schema.connect(str(path))
        schema.migrate(self._w)
        self._r = schema.connect(str(path), readonly=True)
        self._lock = threading.Lock()
        self._series: dict[int, Series] = {}
        self._by_name: dict[str, dict[int, Series]] = {}
        for sid, name, dims, type_, unit in self._w.execute(
            "SELECT id, name, dimensions, type, unit FROM series"
        ):
            self._remember(Series(sid, name, msgspec.json.decode(dims), type_, unit))
        self._head: dict[int, _HeadSeries] = {}
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

    def points_held(self) -> int:
        """Points in chunks and in the head (GET /status; a re-sent point counts twice until flushed)."""
        self._wait_ready()
        with self._lock:
            (n,) = self._r.execute("SELECT COALESCE(SUM(n), 0) FROM chunks").fetchone()
            return n + self._head_points

    def get_series(self, series_id: int) -> Series | None:
        return self._series.get(series_id)

    def metric_names(self) -> dict[str, int]:
        self._wait_ready()
        with self._lock:
            return {name: len(members) for name, members in self._by_name.items() if members}

    def series_of(self, name: str) -> list[Series]:
        self._wait_ready()
        with self._lock:
            members = list(self._by_name.get(name, {}).values())
        return sorted(members, key=lambda s: s.key)

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
        with self._lock:
            self._index()
            for sid in series_ids:
                rows = self._r.execute(sql, (sid, low, high, t_min_high)).fetchall()
                entry = self._head.get(sid)
                head = entry.window(start_ns, end_ns) if entry is not None else None
                if head is not None and not head[0]:
                    head = None
                if rows or head:
                    out[sid] = (rows, head)
        return {sid: trim(*merge_rows(rows, head), start_ns, end_ns) for sid, (rows, head) in out.items()}

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
            windows = ((sid, h.window(start_ns, end_ns)) for sid, h in self._head.items())
            head = {sid: w for sid, w in windows if w[0]}
        return scan_result(rows, head, self._series.get, start_ns, end_ns)

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
            try:
                jobs = [self._queue.get(timeout=1.0)]
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
            if self._head_points >= self.flush_points or (
                self._head_points and now - last_flush >= self.flush_seconds
            ):
                self._guard(self._flush)
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
            for batch, blob, _ in jobs:
                if batch.new_series:
                    w.executemany(
                        "INSERT OR IGNORE INTO series VALUES (?, ?, ?, ?, ?, ?)",
                        [
                            (s.id, s.name, s.key, msgspec.json.encode(s.dimensions).decode(), s.type, s.unit)
                            for s in batch.new_series
                        ],
                    )
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
        with self._lock:
            for batch, _, _ in jobs:
                for s in batch.new_series:
                    if s.id not in self._series:
                        self._remember(s)
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
                    head[sid] = _HeadSeries(t, v)
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

    def _flush(self) -> None:
        with self._lock:
            self._index()
        if not self._head:
            return
        rows = []
        for sid, entry in self._head.items():
            ts, vals = entry.sorted_unique()
            # A chunk never crosses an hour: that is what bounds `scan`.
            for i, j in schema.split_at_hours(ts):
                for k in range(i, j, CHUNK_POINTS):
                    e = min(j, k + CHUNK_POINTS)
                    t, v = ts[k:e], vals[k:e]
                    rows.append((sid, t[0], t[-1], len(t), array("q", t).tobytes(), array("d", v).tobytes()))
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.executemany("INSERT INTO chunks (series_id, t_min, t_max, n, ts, vals) VALUES (?,?,?,?,?,?)", rows)
            w.execute("DELETE FROM log WHERE id <= ?", (self._log_applied,))
        except Exception:
            w.execute("ROLLBACK")
            raise
        with self._lock:
            w.execute("COMMIT")
            self._head = {}
            self._head_points = 0

    def _sweep(self) -> None:
        cutoff = int(self.clock() * NS) - self.retention_ns
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.execute("DELETE FROM chunks WHERE t_max < ?", (cutoff,))
            live = {sid for (sid,) in w.execute("SELECT DISTINCT series_id FROM chunks")}
            with self._lock:
                self._index()
            gone = [sid for sid in self._series if sid not in live and sid not in self._head]
            w.executemany("DELETE FROM series WHERE id = ?", [(sid,) for sid in gone])
        except Exception:
            w.execute("ROLLBACK")
            raise
        with self._lock:
            w.execute("COMMIT")
            for sid in gone:
                s = self._series.pop(sid)
                self._by_name[s.name].pop(sid, None)
                if not self._by_name[s.name]:
                    del self._by_name[s.name]
            if gone:
                self.series_epoch += 1

    def _remember(self, s: Series) -> None:
        self._series[s.id] = s
        self._by_name.setdefault(s.name, {})[s.id] = s


def _exclusive(path: Path):
    """Hold an exclusive lock for the store's lifetime: the head lives in this process's
    memory, so a second writer on the same folder would replay and flush the same log."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StorageError(
            f"{path.parent} is in use by another Weir process; stop it or choose another --data-dir"
        ) from None
    return handle


def _storage_error(exc: BaseException) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    return StorageError(f"the metrics store could not write: {exc}; nothing of this request was stored")
