"""The metrics store on SQLite: a write-ahead log, an in-memory head, and packed chunks.

How a write travels (see docs/architecture.md for the measurements behind it):
1. The request thread packs the batch into one blob and queues it for the writer thread.
2. The writer takes every queued batch, inserts one `log` row per batch in a single
   transaction, commits (WAL, fsync), then appends the points to the head (a dict of
   per-series lists) and resolves the futures: the client is answered only now.
3. When the head is large or old, the writer flushes it into `chunks` (compressed
   columns, `chunks.py`), a slice of series per transaction, serving ingest between slices
   (`flush.py`); each slice marks the (hour, series) pairs it wrote pending, and the last
   deletes the log rows the flush covered. After a crash the log is replayed.
4. Between writes, the writer finalises closed hours and expires old ones (`rollups.py`):
   one chunk per series and hour, hourly rollups and sketches, minute rollups once the
   raw points expire. Each step is one transaction; a kill loses nothing. While ingest
   flows, finalising takes short slices and a bounded share of the writer's time, and its
   commits skip the fsync (`txn.derived`: they rewrite what is already durable).

Queries copy the heads and pin their chunks' snapshot under one lock, under which each flush
slice commits: every point is seen once, in a chunk or in memory.
The query path reads arrays (`read_arrays`, `read_rollups`); `read` and `scan` give lists.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path

from weir.durability import settle
from weir.errors import StorageError, UnavailableError, damaged
from weir.metrics import limits
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series
from weir.metrics.timeutil import NS

from . import chunks, rollups, schema, series_index, txn
from .chunks import SCAN_SQL, pack_batch, scan_result, unpack_batch
from .damage import DamageAware
from .export_state import late_hours, mark_late
from .finalising import FINALISE_SLICE_S, Finalising
from .flush import SlicedFlush
from .folder_lock import exclusive
from .head import HeadSeries, window
from .logrow import LogRowError
from .reads import ArrayReads

log = logging.getLogger(__name__)

CHUNK_POINTS = chunks.CHUNK_POINTS
HOUR_NS = schema.HOUR_NS
_STOP = object()
class SqliteMetricStore(DamageAware, ArrayReads, SlicedFlush, Finalising):
    backend = "sqlite"
    record_levels = ("1m", "1h")  # the rollups `read_records` answers from

    def __init__(
        self,
        path: Path,
        *,
        retention_seconds: int,
        flush_points: int = 1_000_000,
        flush_seconds: float = 300.0,
        sweep_seconds: float = 600.0,
        minute_retention_seconds: int = limits.DEFAULT_MINUTE_RETENTION_SECONDS,
        hour_retention_seconds: int = limits.DEFAULT_HOUR_RETENTION_SECONDS,
        finalise_grace_seconds: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lockfile = exclusive(path.with_suffix(".lock"))
        self.retention_ns = retention_seconds * NS
        # how long each resolution is kept: raw points, minute and hourly rollups
        self.retention = {"raw": retention_seconds, "1m": minute_retention_seconds, "1h": hour_retention_seconds}
        self.flush_points = flush_points
        self.flush_seconds = flush_seconds
        self.sweep_seconds = sweep_seconds
        # an hour is finalised this long after it closes: by then its points are flushed
        grace = flush_seconds + 60 if finalise_grace_seconds is None else finalise_grace_seconds
        self.finalise_grace_ns = int(grace * NS)
        self.clock = clock
        self.series_epoch = 0  # bumped whenever series are forgotten; callers drop caches
        try:
            try:
                self._w = schema.connect(str(path))
            except sqlite3.DatabaseError as exc:
                raise schema.unreadable(path, exc) from None
            self.upgraded_from = schema.migrate(self._w, path)
            series_index.migrate(self._w)
        except BaseException:
            if hasattr(self, "_w"):
                self._w.close()
            self._lockfile.close()
            raise
        if self.upgraded_from and self.upgraded_from < 2:
            log.warning("%s: upgraded from schema %d; its hours are being rewritten compressed in the background "
                        "(`weir migrate` does it at once, with progress)", path, self.upgraded_from)
        self._r = schema.connect(str(path), readonly=True)
        self._readers = threading.local()
        self._reader_conns: list = []
        self._lock = threading.Lock()
        # Series live in the database, not in memory (see series_index): start-up reads counts only.
        self.index = series_index.SqliteSeriesIndex(self._w, self._reader)
        self._head: dict[int, HeadSeries] = {}
        self._head_hours: set[int] = set()  # hours with a point in the head: not answered from rollups
        self._pending: list[tuple[list[int], list[int], list[float]]] = []
        self._finalising_init()
        self._head_points = 0
        self._log_applied = 0
        self._flush_init()
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
            return n + self._head_points + self._flushing_points

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
        return self.read_arrays(series_ids, start_ns, end_ns).to_lists()

    def _reader(self):
        """This thread's read-only connection: a read transaction belongs to a connection, and
        queries run on several threads at once (the gateway's work pool)."""
        conn = getattr(self._readers, "conn", None)
        if conn is None:
            conn = self._readers.conn = schema.connect(str(self.path), readonly=True)
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def read_arrays(self, series_ids: list[int], start_ns: int, end_ns: int, limit: int | None = None):
        with self._reading():
            return super().read_arrays(series_ids, start_ns, end_ns, limit)

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]:
        """Every series with points in [start, end), by ascending series id.

        The chunk query is a bounded range on the `chunks_age` index (see
        `schema.window_bounds`), so its cost follows the window's data, not the store's.
        The matching chunk rows and a copy of the heads are taken under the lock, as in
        `read`, so each point of a flush running meanwhile is seen once, in a chunk or in
        memory; the points are decoded and merged afterwards, outside the lock.
        """
        self._wait_ready()
        with self._lock, self._reading():
            self._index()
            rows = self._r.execute(SCAN_SQL, schema.window_bounds(start_ns, end_ns)).fetchall()
            heads = self._heads()
            sids = heads[0] if len(heads) == 1 else heads[0].keys() | heads[1].keys()
            windows = ((sid, window(heads, sid, start_ns, end_ns)) for sid in sids)
            head = {sid: w for sid, w in windows if w is not None}
        series = self.index.get_many({r[0] for r in rows} | head.keys())
        return self._checked(scan_result(rows, head, series.get, start_ns, end_ns))

    def flush(self) -> None:
        """Move the head into chunks now (also done on its own when it grows or ages)."""
        self._call("flush")

    def sweep(self) -> None:
        """Expire what is past its retention now (also done on its own periodically)."""
        self._call("sweep")

    def finalise(self, progress: Callable[[int, int], None] | None = None) -> None:
        """Flush, then finalise every closed hour now (also done on its own, in slices);
        `progress(done, total)` is called from the writer thread as pairs are finalised."""
        self._call("finalise", progress)

    def backlog(self) -> int:
        """(hour, series) pairs of closed hours waiting to be finalised."""
        self._wait_ready()
        with self._lock:
            return rollups.backlog(self._r, self._closed_before())

    def close(self) -> None:
        if self._lockfile.closed:
            return
        if self._writer.is_alive():
            try:
                self._call("stop")
            except StorageError as exc:  # the points stay in the log: said, and closing goes on
                log.error("%s", exc.message)
            self._writer.join()
        self._r.close()
        for conn in self._reader_conns:
            conn.close()
        self._w.close()
        self._lockfile.close()

    # -- the writer thread ----------------------------------------------------------

    def _wait_ready(self) -> None:
        if not self._ready.wait(timeout=60):  # set when recovery ends, however it ends
            raise UnavailableError("the metrics store is still recovering its log; retry shortly")
        if self._failed is not None:
            raise self._failed if isinstance(self._failed, StorageError) else StorageError(
                f"the metrics store has stopped: {self._failed}")

    def _call(self, command: str, arg: object = None) -> None:
        future: Future = Future()
        self._queue.put((command, arg, future))
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
        busy = False  # finalising hours: look at the queue without waiting
        resting = False  # finalising hours, but yielding to ingest until `_finalise_rest`
        while True:
            try:  # a flush in progress takes its next slice at once when no ingest is waiting
                now = time.monotonic()
                wait = 0.001 if self._step_due(now) else 1.0
                if resting:
                    wait = min(wait, max(0.001, self._finalise_rest - now))
                jobs = [self._queue.get_nowait()] if busy else [self._queue.get(timeout=wait)]
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
            if self._flushing:
                if self._step_due(now):
                    self._guard(self._flush_step)  # one slice, then back to acknowledging ingest
            elif self._size_due() or (self._head_points and now - last_flush >= self.flush_seconds):
                self._guard(self._flush_start)
                last_flush = now
            if now - last_sweep >= self.sweep_seconds:
                self._guard(self._sweep)
                last_sweep = now
            busy = False
            if not commands:
                busy, resting = self._finalise_turn(now, bool(appends))
            for command, arg, future in commands:
                try:
                    if command == "flush" or command == "stop":
                        self._flush()
                    elif command == "sweep":
                        self._sweep()
                    elif command == "finalise":
                        self._flush()
                        self._finalise_all(arg)  # the progress callback
                except Exception as exc:  # reported to the caller, writer carries on
                    future.set_exception(self._job_error(command, exc))
                else:
                    future.set_result(None)
                if command == "stop":
                    return

    def _guard(self, job: Callable[..., object], *args: object) -> object:
        try:
            return job(*args)
        except Exception as exc:
            name = "flush" if job.__name__ == "_flush_step" else job.__name__.strip("_")
            log.error("%s; will retry", self._job_error(name, exc).message)
            return None

    def _job_error(self, command: str, exc: BaseException) -> StorageError:
        """What a failed background job says: the real cause, and that nothing was lost."""
        if isinstance(exc, StorageError):
            return exc
        if command in ("flush", "stop", "finalise"):
            return StorageError(f"{self.path}: could not move the in-memory points into chunks: {exc}; "
                                "they stay in the write-ahead log and are replayed at the next start")
        return StorageError(f"{self.path}: background {command} failed: {exc}")

    def _commit(self, jobs: list) -> None:
        w = self._w
        try:
            w.execute("BEGIN IMMEDIATE")
            last: int | None = 0
            inserted = []
            now_ns = int(self.clock() * NS)
            cut = now_ns - now_ns % HOUR_NS
            late: dict[int, int] = {}  # closed hours these points change: exported again
            for batch, blob, _ in jobs:
                if batch.new_series:
                    inserted += self.index.insert(w, batch.new_series)
                last = w.execute("INSERT INTO log (data) VALUES (?)", (blob,)).lastrowid
                for hour in late_hours(batch.timestamps, cut):
                    late[hour] = last or 0
            mark_late(w, late, now_ns)
            w.execute("COMMIT")
        except Exception as exc:
            txn.rollback(w)
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
        hours = self._head_hours
        for sids, tss, vals in self._pending:
            if not tss:
                continue
            lo, hi = min(tss), max(tss)  # at C speed; most batches fall in one hour
            if hi - hi % HOUR_NS == lo - lo % HOUR_NS:
                hours.add(lo - lo % HOUR_NS)
            else:
                hours.update({t - t % HOUR_NS for t in tss})
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
            try:
                sids, tss, vals = unpack_batch(blob)
            except LogRowError as exc:
                raise damaged(self.path, f"write-ahead log row {log_id}: {exc}") from None
            self._pending.append((sids, tss, vals))
            self._head_points += len(vals)
            self._log_applied = log_id
        if self._head_points:
            log.info("replayed %d points from the write-ahead log", self._head_points)

    def _sweep(self) -> None:
        """Expire by resolution: raw hours past `retention` become minute rollups, and
        rollups past their own retentions go; then the series left with nothing are forgotten.

        Which series are left is worked out between short transactions, not inside one:
        with a million series that takes seconds, and a write transaction would hold up every
        ingest commit meanwhile. Only this (the writer) thread writes, so the candidates stay
        valid; those that got points in the head meanwhile are kept.
        """
        now = int(self.clock() * NS)
        raw_cut = (now - self.retention_ns) // HOUR_NS * HOUR_NS
        with self._lock:
            self._index()
            expiring = self._expiring_in_memory(raw_cut)
        if expiring:  # no point in memory may land in an hour once it has expired
            self._flush()  # (a whole flush: rare, only late points of hours this old do it)
        rollups.finalise(self._w, self._finalisable(raw_cut), 3600.0)
        r = self.retention
        while rollups.expire(self._w, now, r["raw"], r["1m"], r["1h"], FINALISE_SLICE_S):
            pass
        w = self._w
        empty = [sid for (sid,) in w.execute(
            "SELECT id FROM series WHERE NOT EXISTS (SELECT 1 FROM chunks WHERE chunks.series_id = series.id) "
            "AND NOT EXISTS (SELECT 1 FROM hourly WHERE hourly.series_id = series.id) "
            "AND NOT EXISTS (SELECT 1 FROM minutely WHERE minutely.series_id = series.id)")]
        with self._lock:
            self._index()
            empty = [sid for sid in empty if not self._in_flight(sid)]
        if not empty:
            self._vacuum()
            return
        try:
            w.execute("BEGIN IMMEDIATE")
            gone = self.index.delete(w, empty)
            with self._lock:
                w.execute("COMMIT")
                self.index.deleted(gone)
                if gone:
                    self.series_epoch += 1
        except BaseException:
            txn.rollback(w)
            raise
        self._vacuum()


def _storage_error(exc: BaseException) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    return StorageError(f"the metrics store could not write: {exc}; nothing of this request was stored")
