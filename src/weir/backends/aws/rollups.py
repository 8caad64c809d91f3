"""Per-minute rollups on DynamoDB: written by compaction, read by rollup-able queries.

Layout (see `key_schema.py`): one item per (metric, shard, hour, part), `rup#<metric>#<shard>`
/ hour start ns + part, holding the minute rollups of up to ROLLUP_SERIES series.

Why per metric shard and not per series: compaction already holds a whole metric hour in
memory, so writing its rollups costs SHARDS items per metric hour (plus one per further
ROLLUP_SERIES series of a shard), whatever the number of series; and a query over many
series and days reads SHARDS Queries per metric instead of one per series. The price is
that a query filtered to a few series still reads (and decompresses) their whole shards:
at most ROLLUP_SERIES series x 60 minutes per item, far less than those series' points.

An hour is answered from rollups only when it is not pending (no write since its last
compaction) and part 0 of every shard it needs exists: hours compacted before rollups
existed, or pending again after a late write, are read raw. Compaction writes rollups in
the same BatchWriteItem requests as chunks, before it clears the pending mark, so a
non-pending hour's rollups are those of the points its chunks hold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from weir.metrics.ports import RollupRead
from weir.metrics.rollup import Minutes, build_minutes

from . import key_schema
from .codec import decode_rollups, encode_rollups

if TYPE_CHECKING:
    from weir.metrics.series import Series

    from .dynamo import Dynamo


@dataclass(frozen=True)
class RollupSource:
    """What reading rollups needs, handed over by the metric store: its table, how it finds
    a series, which hours are still pending (their rollups are stale or absent), and how it
    runs independent reads (in parallel when it has threads for them)."""

    db: Dynamo
    table: str
    series: Callable[[int], Series | None]
    pending_hours: Callable[[str, int, int, float], set[int]]
    run: Callable[[Sequence[Callable[[], Any]]], list[Any]]
    now_s: float


def rollup_requests(name: str, hour_ns: int, merged: dict[int, tuple[list[int], list[float]]], ttl: int) -> list[dict]:
    """PutRequests for the rollups of one metric hour: sorted, unique points per series."""
    by_shard: dict[int, list[tuple[int, Minutes]]] = {shard: [] for shard in range(key_schema.SHARDS)}
    for sid in sorted(merged):
        ts, vals = merged[sid]
        if ts:
            by_shard[key_schema.shard_of(sid)].append((sid, build_minutes(ts, vals)))
    requests = []
    for shard, series in by_shard.items():
        per = key_schema.ROLLUP_SERIES
        parts = [series[i : i + per] for i in range(0, len(series), per)] or [[]]
        for part, members in enumerate(parts):
            item = {
                key_schema.PK: {"S": key_schema.rollup_pk(name, shard)},
                key_schema.RANGE: {"N": str(hour_ns + part)},
                key_schema.TTL: {"N": str(ttl)},
                "parts": {"N": str(len(parts))},
                "n": {"N": str(sum(m.points() for _, m in members))},
                "d": {"B": encode_rollups(hour_ns, members)},
            }
            requests.append({"PutRequest": {"Item": item}})
    return requests


def read_rollups(source: RollupSource, series_ids: list[int], start_ns: int, end_ns: int) -> RollupRead:
    """Rollups of the whole hours in [start, end) that have them, for these series."""
    first = -(-start_ns // key_schema.BUCKET_NS) * key_schema.BUCKET_NS
    last = key_schema.bucket_of(end_ns) - key_schema.BUCKET_NS  # the last hour that ends by end_ns
    if not series_ids or last < first:
        return RollupRead()
    by_name: dict[str, list[int]] = defaultdict(list)
    for sid in dict.fromkeys(series_ids):
        s = source.series(sid)
        if s is not None:
            by_name[s.name].append(sid)
    now_s = source.now_s
    hours = set(range(first, last + 1, key_schema.BUCKET_NS))
    jobs = []
    for name, sids in by_name.items():
        hours -= source.pending_hours(name, first, last, now_s)
        by_shard: dict[int, set[int]] = defaultdict(set)
        for sid in sids:
            by_shard[key_schema.shard_of(sid)].add(sid)
        for shard, members in by_shard.items():
            jobs.append(partial(_read_shard, source.db, source.table, name, shard, members, first, last, now_s))
    results = source.run(jobs)
    found: dict[int, dict[int, Minutes]] = defaultdict(dict)  # sid → hour → minutes
    for shard_hours, series in results:
        hours &= shard_hours  # an hour without part 0 in some shard is read raw
        for sid, by_hour in series.items():
            found[sid].update(by_hour)
    out = RollupRead()
    for hour in sorted(hours):
        if out.covered and out.covered[-1][1] == hour:
            out.covered[-1] = (out.covered[-1][0], hour + key_schema.BUCKET_NS)
        else:
            out.covered.append((hour, hour + key_schema.BUCKET_NS))
    for sid, by_hour in found.items():
        m = Minutes()
        for hour in sorted(by_hour):
            if hour in hours:
                m.extend(by_hour[hour])
        if len(m):
            out.series[sid] = m
    return out


def _read_shard(db: Dynamo, table: str, name: str, shard: int, members: set[int], first: int, last: int,
                now_s: float) -> tuple[set[int], dict[int, dict[int, Minutes]]]:
    """(hours with part 0, sid → hour → minutes) of one metric shard, by one Query."""
    parts, blobs = current_parts(db, table, key_schema.rollup_pk(name, shard), first, last, now_s)
    series: dict[int, dict[int, Minutes]] = defaultdict(dict)
    for hour, blob in blobs:
        for sid, m in decode_rollups(blob, hour, members).items():
            series[sid][hour] = m
    return parts, series


def current_parts(db: Dynamo, table: str, pk: str, first: int, last: int,
                  now_s: float) -> tuple[set[int], list[tuple[int, bytes]]]:
    """The hours in [first, last] with part 0 (what the last compaction wrote), and the
    (hour, blob) of their current parts, by one Query of a per-hour partitioned key (minute
    rollups and hourly records alike). Expired items are skipped; parts at or past part 0's
    `parts` are left over from an earlier compaction that wrote more, and are skipped too."""
    items = db.query(
        table,
        KeyConditionExpression="pk = :pk AND #ts BETWEEN :a AND :b",
        ExpressionAttributeNames={"#ts": key_schema.RANGE},
        ExpressionAttributeValues={
            ":pk": {"S": pk},
            ":a": {"N": str(first)},
            ":b": {"N": str(last + key_schema.BUCKET_NS - 1)},
        },
        ConsistentRead=True,
    )
    parts: dict[int, int] = {}
    blobs: list[tuple[int, int, bytes]] = []
    for item in items:
        if int(item[key_schema.TTL]["N"]) <= now_s:
            continue
        rk = int(item[key_schema.RANGE]["N"])
        hour = key_schema.bucket_of(rk)
        if rk == hour:
            parts[hour] = int(item["parts"]["N"])
        blobs.append((hour, rk - hour, item["d"]["B"]))
    return set(parts), [(hour, blob) for hour, part, blob in blobs if part < parts.get(hour, 0)]
