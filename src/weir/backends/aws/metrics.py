"""The metrics store on DynamoDB: segments to write, chunks to read, compaction between.

It has the same shape as the SQLite store (a write-optimised log, read-optimised
per-series chunks, a background step that moves one into the other), laid out on
DynamoDB keys as `key_schema.py` describes:

- `append` packs a request into one segment item per (metric, hour, shard): ~60 points
  per write unit and one BatchWriteItem per 25 segments, where one item per point costs
  a full write unit each. It then marks the hour pending for the metric.
- `read` reads chunks for compacted hours and segments for pending ones, and merges them
  so that of two writes of the same point the later one wins.
- `compact` (run by the `stream` function for hours that closed at least `GRACE_NS`
  ago) rebuilds one series chunk per hour from all that hour's segments, then clears the
  pending mark only if no write registered meanwhile. Chunks are derived data: segments
  stay until their TTL, so compaction can always be redone and never loses a point.
  With the chunks it writes the hour's per-minute rollups (`rollups.py`), which
  `read_rollups` serves to queries that need only count, sum, min and max.

Queries never Scan: every read is a Query or GetItem on a known key.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, TypeVar, cast

from weir.errors import PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.points import merge, trim
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series
from weir.metrics.timeutil import NS

from . import arrays, key_schema
from .codec import Segment, decode_chunk, encode_chunk, encode_segment
from .dynamo import ConditionFailed, Dynamo
from .export_state import mark_changed
from .hourly import hourly_requests
from .rollups import rollup_requests
from .series_index import SeriesIndex

_Fragment = tuple[tuple[int, str], list[int], list[float]]  # (version, ts, values)
_T = TypeVar("_T")
LABEL_STATS_MAX_SERIES = 200_000  # the cardinality view reads every series (no per-pair counts are kept)
BATCH_GET_HOURS = 24  # up to this many compacted hours, chunks are fetched by key


if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor


@dataclass
class CompactionResult:
    compacted: bool
    series: int = 0
    points: int = 0


class DynamoMetricStore(arrays.ArrayReads):
    backend = "dynamodb"

    def __init__(
        self,
        client,
        *,
        metrics_table: str,
        series_table: str,
        retention_seconds: int,
        hour_retention_seconds: int = limits.DEFAULT_HOUR_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        read_threads: int = 8,
    ) -> None:
        self.db = Dynamo(client, sleep=sleep)
        self.table = metrics_table
        self.retention_s = retention_seconds
        self.hour_retention_s = hour_retention_seconds
        self.clock = clock
        # a series stays known as long as any of its data: its hourly rollups outlive its points
        kept = max(retention_seconds, hour_retention_seconds)
        self.index = SeriesIndex(self.db, series_table, retention_seconds=kept, clock=clock)
        self.series_epoch = 0  # bumped when a failed write may have left callers' series caches wrong
        self._registered: set[tuple[str, int]] = set()
        self._last_version = 0
        self._lock = threading.Lock()
        self._read_threads = read_threads
        self._pool: ThreadPoolExecutor | None = None

    # -- the port -----------------------------------------------------------------

    def ready(self) -> bool:
        return True

    def problem(self) -> str | None:
        return None  # DynamoDB's health is AWS's; a failing call is a 503 of its own

    def get_series(self, series_id: int) -> Series | None:
        return self.index.get(series_id)

    def get_series_many(self, ids: list[int]) -> dict[int, Series]:
        return {s.id: s for s in self.index._get_many(ids)}

    def metric_names(self) -> dict[str, int]:
        return self.index.names()

    def series_of(self, name: str) -> list[Series]:
        return self.index.of(name)

    def select(self, name: str, filters: dict[str, str], *, limit: int | None = None,
               after: str | None = None) -> list[Series]:
        return self.index.select(name, filters, limit=limit, after=after)

    def count_selected(self, name: str, filters: dict[str, str], cap: int) -> int:
        return len(self.index.select(name, filters, limit=cap + 1))

    def label_stats(self) -> tuple[list[tuple[str, int, int]], list[tuple[str, str, int]]]:
        """Computed from every series of every metric: bounded by LABEL_STATS_MAX_SERIES."""
        names = self.index.names()
        total = sum(names.values())
        if total > LABEL_STATS_MAX_SERIES:
            raise PayloadTooLargeError(
                f"the label statistics read every series from DynamoDB; {total} series are more than "
                f"{LABEL_STATS_MAX_SERIES}. The series count per metric is in GET /metrics")
        pairs: dict[tuple[str, str], int] = defaultdict(int)
        for name in names:
            for s in self.index.of(name):
                for k, v in s.dimensions.items():
                    pairs[(k, v)] += 1
        keys: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for k, v in pairs:
            keys[k][0] += 1
            keys[k][1] += len(v.encode())
        ordered = sorted(((k, v, n) for (k, v), n in pairs.items()), key=lambda p: (-p[2], p[0], p[1]))
        return [(k, a, b) for k, (a, b) in keys.items()], ordered

    def append(self, batch: PointBatch) -> None:
        if not len(batch):
            return
        try:
            self._append(batch)
        except Exception:
            # Callers cache the batch's new series; they may not have been stored. Bumping
            # the epoch makes them look every series up again (as the SQLite store does).
            self.series_epoch += 1
            raise

    def _append(self, batch: PointBatch) -> None:
        with self._lock:  # the write's version: later writes of this process win, even within a clock tick
            now_ns = self._last_version = max(self._now_ns(), self._last_version + 1)
        self.index.ensure(batch.new_series, set(batch.series_ids))
        names = {sid: cast(Series, self.index.cached(sid)).name for sid in set(batch.series_ids)}  # ensure() cached all
        groups: dict[tuple[str, int, int], dict[tuple[int, int], float]] = defaultdict(dict)
        bucket, shards = key_schema.BUCKET_NS, key_schema.SHARDS
        for sid, ts, v in zip(batch.series_ids, batch.timestamps, batch.values):
            # later points of the request overwrite earlier ones at the same (series, time)
            groups[(names[sid], ts - ts % bucket, sid % shards)][(sid, ts)] = v
        requests = []
        for (name, hour, shard), points in groups.items():
            for part in _split(points, key_schema.SEGMENT_POINTS):
                requests.append({"PutRequest": {"Item": self._segment_item(name, hour, shard, part, now_ns)}})
        closed = {h for _, h, _ in groups if h + key_schema.BUCKET_NS <= now_ns}  # maybe exported: marked
        mark_changed(self.index.db, self.index.table, closed, now_ns)  # first, so a crash cannot lose the mark
        self.db.batch_write(self.table, requests)
        self._register({(name, hour) for name, hour, _ in groups})

    def read(self, series_ids: list[int], start_ns: int, end_ns: int) -> dict[int, tuple[list[int], list[float]]]:
        if not series_ids or end_ns <= start_ns:
            return {}
        by_name: dict[str, list[int]] = defaultdict(list)
        for sid in dict.fromkeys(series_ids):
            s = self.index.cached(sid) or self.index.get(sid)
            if s is not None:
                by_name[s.name].append(sid)
        out = {}
        for name, sids in by_name.items():
            out.update(self._read_metric(name, sids, start_ns, end_ns))
        return out

    def scan(self, start_ns: int, end_ns: int) -> Iterator[tuple[Series, list[int], list[float]]]:
        """Every series with points in [start, end), by ascending id (what an export reads).

        Read from the segments of the window's hours, compacted or not: segments stay until
        their TTL, hold every write, and are addressed by (metric, hour, shard), so the cost
        is 8 Queries per metric and hour plus the points written in the window; series that
        were not written then cost nothing (chunks would cost a key per series and hour).
        The window's points are held in memory to order series by id: fine for an hour.
        """
        if end_ns <= start_ns:
            return
        now_s = self.clock()
        hours = range(key_schema.bucket_of(start_ns), key_schema.bucket_of(end_ns - 1) + 1, key_schema.BUCKET_NS)
        jobs = [partial(self._scan_segments, name, hour, shard, end_ns, now_s)
                for name in self.index.name_list() for hour in hours for shard in range(key_schema.SHARDS)]
        results = self._run(jobs)
        frags: dict[int, list[_Fragment]] = defaultdict(list)
        written: set[str] = set()
        for name, found in results:
            for sid, frag in found:
                frags[sid].append(frag)
                written.add(name)
        series = {s.id: s for name in sorted(written) for s in self.index.of(name)}
        for sid in sorted(frags):
            s = series.get(sid) or self.index.get(sid)
            if s is None:
                continue  # its index entry has expired with its retention
            ts, vals = trim(*_merge(frags[sid]), start_ns, end_ns)
            if ts:
                yield s, ts, vals

    def _scan_segments(self, name, hour, shard, end, now_s) -> tuple[str, list[tuple[int, _Fragment]]]:
        found = []
        for item in self._segments(name, hour, shard, end):
            if int(item[key_schema.TTL]["N"]) <= now_s:
                continue
            version = (int(item["w"]["N"]), item[key_schema.RANGE]["N"])
            for sid, ts, vals in Segment(item["d"]["B"]).all_series():
                found.append((sid, (version, ts, vals)))
        return name, found

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    # -- compaction ---------------------------------------------------------------

    def compact_due(self, name: str) -> list[CompactionResult]:
        """Compact every pending hour of `name` that closed at least GRACE_NS ago."""
        cutoff = self._now_ns() - key_schema.BUCKET_NS - key_schema.GRACE_NS
        hours = [
            int(item[key_schema.RANGE]["N"])
            for item in self.db.query(
                self.table,
                KeyConditionExpression="pk = :pk AND #ts <= :cut",
                ExpressionAttributeNames={"#ts": key_schema.RANGE},
                ExpressionAttributeValues={":pk": {"S": key_schema.pending_pk(name)}, ":cut": {"N": str(cutoff)}},
                ConsistentRead=True,
            )
        ]
        return [self.compact(name, hour) for hour in hours]

    def compact_all_due(self) -> list[CompactionResult]:
        """Every metric's closed pending hours (for a schedule: metrics that stopped writing)."""
        return [r for name in self.index.name_list() for r in self.compact_due(name)]

    def compact(self, name: str, hour_ns: int, *, force: bool = False) -> CompactionResult:
        """Rebuild the chunks and rollups of one metric hour from its segments and clear its pending mark.

        Only safe once the hour is closed (a writer skips registering while its hour is
        open); `force` is for tests and benchmarks that have stopped writing.
        """
        if not force and self._now_ns() < hour_ns + key_schema.BUCKET_NS + key_schema.GRACE_NS:
            raise ValueError(f"hour {hour_ns} of {name!r} is not closed yet; compacting it could miss writes")
        key = {key_schema.PK: {"S": key_schema.pending_pk(name)}, key_schema.RANGE: {"N": str(hour_ns)}}
        mark = self.db.call("get_item", self.table, Key=key, ConsistentRead=True).get("Item")
        if mark is None:
            return CompactionResult(False)
        now_s = self.clock()
        frags: dict[int, list[_Fragment]] = defaultdict(list)
        for shard in range(key_schema.SHARDS):
            for item in self._segments(name, hour_ns, shard, None):
                if int(item[key_schema.TTL]["N"]) <= now_s:
                    continue
                version = (int(item["w"]["N"]), item[key_schema.RANGE]["N"])
                for sid, ts, vals in Segment(item["d"]["B"]).all_series():
                    frags[sid].append((version, ts, vals))
        requests, points, merged = [], 0, {}
        for sid, fr in frags.items():
            ts, vals = merged[sid] = _merge(fr)
            points += len(ts)
            written = max(v[0][0] for v in fr)
            starts = range(0, len(ts), key_schema.CHUNK_POINTS)
            for part, start in enumerate(starts):
                t, v = ts[start : start + key_schema.CHUNK_POINTS], vals[start : start + key_schema.CHUNK_POINTS]
                item = {
                    key_schema.PK: {"S": key_schema.chunk_pk(sid)},
                    key_schema.RANGE: {"N": str(hour_ns + part)},
                    key_schema.TTL: {"N": str(self._expiry(t[-1]))},
                    "w": {"N": str(written)},
                    "n": {"N": str(len(t))},
                    "d": {"B": encode_chunk(t, v)},
                }
                if part == 0 and len(starts) > 1:
                    item["parts"] = {"N": str(len(starts))}
                requests.append({"PutRequest": {"Item": item}})
        # rollups go with the chunks, before the mark is cleared: see rollups.py
        requests += rollup_requests(name, hour_ns, merged, self._expiry(hour_ns + key_schema.BUCKET_NS - 1))
        hour_ttl = (hour_ns + key_schema.BUCKET_NS) // NS + self.hour_retention_s
        requests += hourly_requests(name, hour_ns, merged, hour_ttl)
        self.db.batch_write(self.table, requests)
        with self._lock:
            self._registered.discard((name, hour_ns))
        try:
            self.db.call(
                "delete_item",
                self.table,
                Key=key,
                ConditionExpression="v = :v",
                ExpressionAttributeValues={":v": mark["v"]},
            )
        except ConditionFailed:  # a write landed meanwhile: the hour stays pending, redone later
            return CompactionResult(False, len(frags), points)
        return CompactionResult(True, len(frags), points)

    # -- internals ----------------------------------------------------------------

    def _now_ns(self) -> int:
        return int(self.clock() * NS)

    def _expiry(self, last_ts_ns: int) -> int:
        return last_ts_ns // NS + 1 + self.retention_s

    def _segment_item(self, name: str, hour: int, shard: int, points: dict, now_ns: int) -> dict:
        blob, digest, first = encode_segment(points)
        last = max(ts for _, ts in points)
        return {
            key_schema.PK: {"S": key_schema.segment_pk(name, hour, shard)},
            key_schema.RANGE: {"N": key_schema.segment_range(first, digest)},
            key_schema.TTL: {"N": str(self._expiry(last))},
            "w": {"N": str(now_ns)},
            "n": {"N": str(len(points))},
            "d": {"B": blob},
        }

    def _register(self, hours: set[tuple[str, int]]) -> None:
        """Mark hours pending, after their segments are stored (so a mark means data).

        A process skips hours it marked itself while they are still open when its write
        completes: compaction waits GRACE_NS past the hour, so it sees those writes. Late
        writes into a closed hour always register, bumping `v`, which makes a concurrent
        compaction keep the hour pending.
        """
        done = self._now_ns()
        for name, hour in sorted(hours):
            is_open = done < hour + key_schema.BUCKET_NS
            if is_open and (name, hour) in self._registered:
                continue
            self.db.call(
                "update_item",
                self.table,
                Key={key_schema.PK: {"S": key_schema.pending_pk(name)}, key_schema.RANGE: {"N": str(hour)}},
                UpdateExpression="ADD v :one SET #ttl = :ttl",
                ExpressionAttributeNames={"#ttl": key_schema.TTL},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":ttl": {"N": str(self._expiry(hour + key_schema.BUCKET_NS))},
                },
            )
            if is_open:
                with self._lock:
                    self._registered.add((name, hour))

    def _segments(self, name: str, hour: int, shard: int, end_ns: int | None) -> Iterable[dict]:
        cond, values = "pk = :pk", {":pk": {"S": key_schema.segment_pk(name, hour, shard)}}
        names = None
        if end_ns is not None:  # a segment's range key starts with its first point's time
            cond += " AND #ts < :end"
            values[":end"] = {"N": str(end_ns)}
            names = {"#ts": key_schema.RANGE}
        kwargs = {"KeyConditionExpression": cond, "ExpressionAttributeValues": values, "ConsistentRead": True}
        if names:
            kwargs["ExpressionAttributeNames"] = names
        return self.db.query(self.table, **kwargs)

    def _pending_hours(self, name: str, first: int, last: int, now_s: float) -> set[int]:
        return {
            int(item[key_schema.RANGE]["N"])
            for item in self.db.query(
                self.table,
                KeyConditionExpression="pk = :pk AND #ts BETWEEN :a AND :b",
                ExpressionAttributeNames={"#ts": key_schema.RANGE},
                ExpressionAttributeValues={
                    ":pk": {"S": key_schema.pending_pk(name)},
                    ":a": {"N": str(first)},
                    ":b": {"N": str(last)},
                },
                ConsistentRead=True,
            )
            if int(item[key_schema.TTL]["N"]) > now_s
        }

    def _read_metric(self, name: str, sids: list[int], start: int, end: int) -> dict:
        now_s = self.clock()
        first, last = key_schema.bucket_of(start), key_schema.bucket_of(end - 1)
        pending = self._pending_hours(name, first, last, now_s)
        jobs: list[Callable[[], list[tuple[int, _Fragment]]]] = []
        by_shard: dict[int, list[int]] = defaultdict(list)
        for sid in sids:
            by_shard[key_schema.shard_of(sid)].append(sid)
        for hour in sorted(pending):
            for shard, members in by_shard.items():
                jobs.append(partial(self._read_segments, name, hour, shard, members, end, now_s))
        hours = (last - first) // key_schema.BUCKET_NS + 1
        if hours == len(pending):
            pass  # nothing compacted in range: segments only
        elif hours - len(pending) <= BATCH_GET_HOURS:  # wide and short: every (series, hour) by key
            compacted = [h for h in range(first, last + 1, key_schema.BUCKET_NS) if h not in pending]
            wanted = [(sid, h) for sid in sids for h in compacted]
            for i in range(0, len(wanted), 100):
                jobs.append(partial(self._get_chunks, wanted[i : i + 100], now_s))
        else:  # long: one Query per series
            for sid in sids:
                jobs.append(partial(self._read_chunks, sid, first, end, pending, now_s))
        results = self._run(jobs)
        frags: dict[int, list[_Fragment]] = defaultdict(list)
        for result in results:
            for sid, frag in result:
                frags[sid].append(frag)
        out = {}
        for sid, fr in frags.items():
            ts, vals = trim(*_merge(fr), start, end)
            if ts:
                out[sid] = (ts, vals)
        return out

    def _read_segments(self, name, hour, shard, members, end, now_s) -> list[tuple[int, _Fragment]]:
        found = []
        for item in self._segments(name, hour, shard, end):
            if int(item[key_schema.TTL]["N"]) <= now_s:
                continue
            seg = Segment(item["d"]["B"])
            version = (int(item["w"]["N"]), item[key_schema.RANGE]["N"])
            for sid in members:
                part = seg.series(sid)
                if part is not None:
                    found.append((sid, (version, part[0], part[1])))
        return found

    def _read_chunks(self, sid, first, end, pending, now_s) -> list[tuple[int, _Fragment]]:
        found = []
        for item in self.db.query(
            self.table,
            KeyConditionExpression="pk = :pk AND #ts BETWEEN :a AND :b",
            ExpressionAttributeNames={"#ts": key_schema.RANGE},
            ExpressionAttributeValues={
                ":pk": {"S": key_schema.chunk_pk(sid)},
                ":a": {"N": str(first)},
                ":b": {"N": str(end - 1)},
            },
            ConsistentRead=True,
        ):
            rk = int(item[key_schema.RANGE]["N"])
            if key_schema.bucket_of(rk) in pending or int(item[key_schema.TTL]["N"]) <= now_s:
                continue
            found.append((sid, _chunk_fragment(item)))
        return found

    def _get_chunks(self, wanted: list[tuple[int, int]], now_s) -> list[tuple[int, _Fragment]]:
        """Part 0 of each (series, hour) chunk by key; the rare further parts by Query."""
        items = self.db.batch_get(
            self.table,
            [{key_schema.PK: {"S": key_schema.chunk_pk(sid)}, key_schema.RANGE: {"N": str(hour)}}
             for sid, hour in wanted],
        )
        found = []
        for item in items:
            if int(item[key_schema.TTL]["N"]) <= now_s:
                continue
            sid = int(item[key_schema.PK]["S"].partition("#")[2])
            hour = int(item[key_schema.RANGE]["N"])
            found.append((sid, _chunk_fragment(item)))
            if int(item.get("parts", {"N": "1"})["N"]) > 1:
                found += self._read_chunks(sid, hour + 1, hour + key_schema.BUCKET_NS, set(), now_s)
        return found

    def _run(self, jobs: Sequence[Callable[[], _T]]) -> list[_T]:
        """Run independent reads, in parallel when there are several."""
        if len(jobs) > 1 and self._read_threads > 1:
            return list(self._executor().map(lambda job: job(), jobs))
        return [job() for job in jobs]

    def _executor(self):
        from concurrent.futures import ThreadPoolExecutor  # only readers need it

        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._read_threads, thread_name_prefix="weir-dynamodb-read")
            return self._pool


def _chunk_fragment(item: dict) -> _Fragment:
    ts, vals = decode_chunk(item["d"]["B"])
    return (int(item["w"]["N"]), item[key_schema.RANGE]["N"]), ts, vals


def _split(points: dict[tuple[int, int], float], size: int) -> list[dict]:
    if len(points) <= size:
        return [points]
    ordered = sorted(points)
    return [{k: points[k] for k in ordered[i : i + size]} for i in range(0, len(ordered), size)]


def _merge(frags: list[_Fragment]) -> tuple[list[int], list[float]]:
    """One sorted, unique run from fragments; at equal timestamps the later version wins."""
    return merge([(ts, vals) for _, ts, vals in sorted(frags, key=lambda f: f[0])])
