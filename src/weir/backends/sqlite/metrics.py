"""The metrics store on SQLite: a write-ahead log, an in-memory head, and packed chunks.

How a write travels (see docs/architecture.md for the measurements behind it):
1. The request thread packs the batch into one blob and queues it for the writer thread.
2. The writer takes every queued batch, inserts one `log` row per batch in a single
   transaction, commits (WAL, fsync), then appends the points to the head (a dict of
   per-series lists) and resolves the futures: the client is answered only now.
3. When the head is large or old, the writer flushes it into `chunks` (compressed
   columns, `chunks.py`) and deletes the log rows it covered, in one transaction, which
   also marks each (hour, series) it wrote pending. After a crash the log is replayed.
4. Between writes, the writer finalises closed hours and expires old ones (`rollups.py`):
   one chunk per series and hour, hourly rollups and sketches, minute rollups once the
   raw points expire. Each step is one transaction; a kill loses nothing.

Queries read chunks and the head under one lock, so a flush is never seen half-done.
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
from typing import TYPE_CHECKING

import msgspec

from weir.durability import settle
from weir.errors import StorageError, UnavailableError
from weir.metrics import limits
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series
from weir.metrics.timeutil import NS

from . import chunks, rollups, schema
from .chunks import SCAN_SQL, pack_batch, scan_result, unpack_batch
from .head import HeadSeries, exclusive, spans

if TYPE_CHECKING:
    from weir.metrics.arrays import RollupBlock, SeriesArrays

log = logging.getLogger(__name__)

CHUNK_POINTS = chunks.CHUNK_POINTS
HOUR_NS = schema.HOUR_NS
_STOP = object()
FINALISE_SLICE_S = 0.25  # the longest the writer finalises before looking at its queue again


class SqliteMetricStore:
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
        except BaseException:
            if hasattr(self, "_w"):
                self._w.close()
            self._lockfile.close()
            raise
        if self.upgraded_from and self.upgraded_from < schema.VERSION:
            log.warning("%s: upgraded from schema %d; its hours are being rewritten compressed in the background "
                        "(`weir migrate` does it at once, with progress)", path, self.upgraded_from)
        self._r = schema.connect(str(path), readonly=True)
        self._lock = threading.Lock()
        self._series: dict[int, Series] = {}
        self._by_name: dict[str, dict[int, Series]] = {}
        self._sorted: dict[str, list[Series]] = {}  # series_of's answers, by metric
        for sid, name, dims, type_, unit in self._w.execute(
            "SELECT id, name, dimensions, type, unit FROM series"
        ):
            self._remember(Series(sid, name, msgspec.json.decode(dims), type_, unit))
        self._head: dict[int, HeadSeries] = {}
        self._head_hours: set[int] = set()  # hours with a point in the head: not answered from rollups
        self._pending: list[tuple[list[int], list[int], list[float]]] = []
        self._finalise_at = 0.0  # monotonic time of the next look for hours to finalise
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
        return self._series.get(series_id)

    def metric_names(self) -> dict[str, int]:
        self._wait_ready()
        with self._lock:
            return {name: len(members) for name, members in self._by_name.items() if members}

    def series_of(self, name: str) -> list[Series]:
        self._wait_ready()
        with self._lock:
            got = self._sorted.get(name)
            if got is None:  # sorting by key costs a key per series: kept until the metric changes
                got = self._sorted[name] = sorted(self._by_name.get(name, {}).values(), key=lambda s: s.key)
        return list(got)

    def append(self, batch: PointBatch) -> None:
        self._wait_ready()
        future: Future = Future()
        self._queue.put((batch, pack_batch(batch), future))
        settle(future)

    def read(self, series_ids, start_ns, end_ns):
        return self.read_arrays(series_ids, start_ns, end_ns).to_lists()

    def read_arrays(self, series_ids: list[int], start_ns: int, end_ns: int) -> SeriesArrays:
        """Points in [start, end) of these series as arrays, by ascending series id (numpy)."""
        self._wait_ready()
        bounds = schema.window_bounds(start_ns, end_ns)
        with self._lock:
            self._index()
            rows = chunks.select_rows(self._r, list(series_ids), bounds)
            head = {}
            for sid in series_ids:
                entry = self._head.get(sid)
                if entry is not None:
                    w = entry.window(start_ns, end_ns)
                    if w[0]:
                        head[sid] = w
        return chunks.read_arrays(rows, head, start_ns, end_ns)

    def read_records(self, level: str, series_ids: list[int], start_ns: int, end_ns: int) -> RollupBlock:
        """Rollup records in [start, end): `1h` for the whole hours that are finalised (not
        pending, nothing in the head); `1m` for the hours whose raw points have expired
        (converted whole hours, oldest first: never overlapping a raw point)."""
        from weir.metrics.arrays import RollupBlock

        self._wait_ready()
        if not series_ids or end_ns <= start_ns:
            return RollupBlock.empty(level)
        with self._lock:
            self._index()
            if level == "1m":  # only hours converted whole: no raw point is left in them
                upto = min(end_ns, rollups.minutes_until(self._r))
                if upto <= start_ns:
                    return RollupBlock.empty(level)
                cols = rollups.read_minutely(self._r, list(series_ids), start_ns - start_ns % HOUR_NS, upto)
                return RollupBlock(level, [(start_ns, upto)], cols).only([(start_ns, upto)])
            first = -(-start_ns // HOUR_NS) * HOUR_NS
            end = end_ns // HOUR_NS * HOUR_NS
            if end <= first:
                return RollupBlock.empty(level)
            busy = rollups.pending_hours(self._r, first, end) | {h for h in self._head_hours if first <= h < end}
            cols = rollups.read_hourly(self._r, list(series_ids), first, end)
        covered = spans(first, end, busy)
        return RollupBlock(level, covered, cols).only(covered)

    def read_sketches(self, series_ids: list[int], spans: list[tuple[int, int]]):
        """(series id, hour, sketch) of the finalised hours within `spans`."""
        self._wait_ready()
        out = []
        with self._lock:
            for a, b in spans:
                out += rollups.read_sketches(self._r, list(series_ids), a, b)
        return out

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
        while True:
            try:
                jobs = [self._queue.get_nowait()] if busy else [self._queue.get(timeout=1.0)]
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
            busy = False
            if not commands and now >= self._finalise_at:
                busy = bool(self._guard(self._finalise_some))
                if not busy:
                    self._finalise_at = now + min(5.0, self.flush_seconds)
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
                    future.set_exception(_storage_error(exc))
                else:
                    future.set_result(None)
                if command == "stop":
                    return

    def _guard(self, job: Callable[[], object]) -> object:
        try:
            return job()
        except Exception:
            log.exception("background %s failed; will retry", job.__name__)
            return None

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
        hours = self._head_hours
        for sids, tss, vals in self._pending:
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
            # A chunk never crosses an hour: that is what bounds `scan`.
            rows += chunks.encode_rows(sid, *entry.sorted_unique())
        touched = {(r[1] - r[1] % HOUR_NS, r[0]) for r in rows}
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.executemany(chunks.INSERT_SQL, rows)
            w.executemany("INSERT OR IGNORE INTO pending (hour, series_id) VALUES (?, ?)", sorted(touched))
            w.execute("DELETE FROM log WHERE id <= ?", (self._log_applied,))
        except Exception:
            w.execute("ROLLBACK")
            raise
        with self._lock:
            w.execute("COMMIT")
            self._head = {}
            self._head_hours = set()
            self._head_points = 0
        self._finalise_at = 0.0

    def _closed_before(self) -> int:
        """Hours starting before this are closed for at least the grace: finalise them."""
        return (int(self.clock() * NS) - self.finalise_grace_ns) // HOUR_NS * HOUR_NS

    def _finalise_some(self) -> bool:
        """One slice of finalising; True when there may be more to do."""
        done = rollups.finalise(self._w, self._closed_before(), FINALISE_SLICE_S)
        if done.pairs:
            self._vacuum()
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

    def _sweep(self) -> None:
        """Expire by resolution: raw hours past `retention` become minute rollups, and
        rollups past their own retentions go; series with nothing left are forgotten."""
        self._flush()  # no head point may land in an hour once it has expired
        now = int(self.clock() * NS)
        raw_cut = (now - self.retention_ns) // HOUR_NS * HOUR_NS
        rollups.finalise(self._w, raw_cut, 3600.0)
        r = self.retention
        while rollups.expire(self._w, now, r["raw"], r["1m"], r["1h"], FINALISE_SLICE_S):
            pass
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            live = {sid for (sid,) in w.execute(
                "SELECT DISTINCT series_id FROM chunks UNION SELECT DISTINCT series_id FROM hourly "
                "UNION SELECT DISTINCT series_id FROM minutely")}
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
                self._sorted.pop(s.name, None)
                self._by_name[s.name].pop(sid, None)
                if not self._by_name[s.name]:
                    del self._by_name[s.name]
            if gone:
                self.series_epoch += 1
        self._vacuum()

    def _remember(self, s: Series) -> None:
        self._sorted.pop(s.name, None)
        self._series[s.id] = s
        self._by_name.setdefault(s.name, {})[s.id] = s


def _storage_error(exc: BaseException) -> StorageError:
    if isinstance(exc, StorageError):
        return exc
    return StorageError(f"the metrics store could not write: {exc}; nothing of this request was stored")
