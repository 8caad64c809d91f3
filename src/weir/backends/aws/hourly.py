"""Hourly rollups and quantile sketches on DynamoDB: written by compaction beside the
minute rollups, kept for the hourly retention (455 days by default), read by queries whose
period is a whole number of hours, and by percentiles once the raw points have expired.

Layout (see `key_schema.py`): `hour#<metric>#<shard>` / hour start ns + part, attribute `d`:
zlib of (u32 n, int64 series ids, n HOUR_RECORDs of `weir.metrics.records`, u32 sketch
lengths, the sketches). Parts hold as many series as fit in PART_BYTES, so an item stays
under DynamoDB's 400 KB whatever the values; `parts` on part 0 says how many the last
compaction wrote, and a reader ignores stale higher parts. An hour is answered from these
only when it is not pending and part 0 of every shard it needs exists, as for minutes.
"""

from __future__ import annotations

import struct
import zlib
from collections import defaultdict
from functools import partial
from typing import TYPE_CHECKING

from weir.metrics.records import HOUR_RECORD, hour_record
from weir.metrics.sketch import Sketch

from . import key_schema
from .rollups import current_parts

if TYPE_CHECKING:
    from .dynamo import Dynamo
    from .rollups import RollupSource

PART_BYTES = 300 * 1024
_N = struct.Struct("<I")


def hourly_requests(name: str, hour_ns: int, merged: dict[int, tuple[list[int], list[float]]], ttl: int) -> list[dict]:
    """PutRequests for the hourly records and sketches of one compacted metric hour."""
    by_shard: dict[int, list[tuple[int, bytes, bytes]]] = {shard: [] for shard in range(key_schema.SHARDS)}
    for sid in sorted(merged):
        ts, vals = merged[sid]
        if ts:
            by_shard[key_schema.shard_of(sid)].append((sid, hour_record(hour_ns, ts, vals), Sketch.of(vals).encode()))
    requests = []
    for shard, series in by_shard.items():
        parts: list[list[tuple[int, bytes, bytes]]] = [[]]
        size = 0
        for entry in series:
            grow = 8 + HOUR_RECORD.size + 4 + len(entry[2])
            if parts[-1] and size + grow > PART_BYTES:
                parts.append([])
                size = 0
            parts[-1].append(entry)
            size += grow
        for part, members in enumerate(parts):
            item = {
                key_schema.PK: {"S": key_schema.hourly_pk(name, shard)},
                key_schema.RANGE: {"N": str(hour_ns + part)},
                key_schema.TTL: {"N": str(ttl)},
                "parts": {"N": str(len(parts))},
                "d": {"B": _encode(members)},
            }
            requests.append({"PutRequest": {"Item": item}})
    return requests


def _encode(members: list[tuple[int, bytes, bytes]]) -> bytes:
    n = len(members)
    raw = b"".join((
        _N.pack(n),
        struct.pack(f"<{n}q", *(sid for sid, _, _ in members)),
        b"".join(rec for _, rec, _ in members),
        struct.pack(f"<{n}I", *(len(sk) for _, _, sk in members)),
        b"".join(sk for _, _, sk in members),
    ))
    return zlib.compress(raw, 6)


def decode(blob: bytes, wanted: set[int] | None = None) -> list[tuple[int, bytes, bytes]]:
    """(series id, record, sketch) of an item's series (only the `wanted` ones when given)."""
    raw = zlib.decompress(blob)
    (n,) = _N.unpack_from(raw)
    o = _N.size
    sids = struct.unpack_from(f"<{n}q", raw, o)
    o += 8 * n
    recs = o
    o += HOUR_RECORD.size * n
    lens = struct.unpack_from(f"<{n}I", raw, o)
    o += 4 * n
    out = []
    for i, (sid, ln) in enumerate(zip(sids, lens)):
        if wanted is None or sid in wanted:
            rec = raw[recs + i * HOUR_RECORD.size : recs + (i + 1) * HOUR_RECORD.size]
            out.append((sid, rec, raw[o : o + ln]))
        o += ln
    return out


def read_hourly(source: RollupSource, series_ids: list[int], start_ns: int, end_ns: int
                ) -> tuple[list[tuple[int, int]], list[tuple[int, bytes, bytes]]]:
    """(covered hour spans, (series id, record, sketch) of those hours) for whole hours in [start, end)."""
    bucket = key_schema.BUCKET_NS
    first = -(-start_ns // bucket) * bucket
    last = key_schema.bucket_of(end_ns) - bucket
    if not series_ids or last < first:
        return [], []
    by_name: dict[str, list[int]] = defaultdict(list)
    for sid in dict.fromkeys(series_ids):
        s = source.series(sid)
        if s is not None:
            by_name[s.name].append(sid)
    hours = set(range(first, last + 1, bucket))
    jobs = []
    for name, sids in by_name.items():
        hours -= source.pending_hours(name, first, last, source.now_s)
        by_shard: dict[int, set[int]] = defaultdict(set)
        for sid in sids:
            by_shard[key_schema.shard_of(sid)].add(sid)
        for shard, members in by_shard.items():
            jobs.append(partial(_read_shard, source.db, source.table, name, shard, members, first, last,
                                source.now_s))
    found: list[tuple[int, int, bytes, bytes]] = []
    for shard_hours, entries in source.run(jobs):
        hours &= shard_hours  # an hour without part 0 in some shard is read raw
        found += entries
    covered: list[tuple[int, int]] = []
    for hour in sorted(hours):
        if covered and covered[-1][1] == hour:
            covered[-1] = (covered[-1][0], hour + bucket)
        else:
            covered.append((hour, hour + bucket))
    return covered, [(sid, rec, sk) for hour, sid, rec, sk in found if hour in hours]


def _read_shard(db: Dynamo, table: str, name: str, shard: int, members: set[int], first: int, last: int,
                now_s: float) -> tuple[set[int], list[tuple[int, int, bytes, bytes]]]:
    hours, blobs = current_parts(db, table, key_schema.hourly_pk(name, shard), first, last, now_s)
    return hours, [(hour, sid, rec, sk) for hour, blob in blobs for sid, rec, sk in decode(blob, members)]
