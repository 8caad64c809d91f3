"""The key design of the metrics store on DynamoDB. Changing anything here is a data migration.

The seed keyed its table `metric_name` (hash) / `timestamp` (range). That loses data and
throttles: two series of one metric at the same instant share a key and overwrite each
other, and a whole metric lives in one partition (1,000 write units/s). Writing one item
per datapoint would also cost at least one write unit per point.

Weir keeps the seed's table shape (string hash key, numeric `timestamp` range key, TTL
attribute `ttl` in epoch seconds, stream NEW_AND_OLD_IMAGES, on-demand) and stores these
kinds of item in it, told apart by the hash key's prefix (`#` never occurs in a metric
name, see `limits.NAME_RE`):

- segment  `seg#<metric>#<hour>#<shard>` / first point's ns + `.<16-digit content hash>`
    The write path: every request becomes one item per (metric, hour, shard) it touches,
    holding the points of many series packed and compressed. The shard is
    `series_id mod SHARDS`, so a hot metric spreads over SHARDS partitions and one series
    always lands in the same shard. The range key is derived from the content, so a
    retried request rewrites the same item (lands once), and two requests never collide.
- chunk    `chk#<series id>` / hour start ns + part number
    The read path: all points of one series in one hour, sorted and de-duplicated,
    written by compaction (the `stream` function) once the hour is closed.
- rollup   `rup#<metric>#<shard>` / hour start ns + part number
    Per-minute count, sum, min and max (`weir.metrics.rollup`) of every series of a
    metric shard in one hour, packed and compressed, written by compaction beside the
    chunks. Each compaction writes part 0 of all SHARDS, even empty ones, so a reader
    can tell "compacted with rollups" from "no rollups (yet)"; `parts` on each item says
    how many parts the last compaction wrote, so a reader ignores stale higher parts.
- hourly   `hour#<metric>#<shard>` / hour start ns + part number
    Per-hour count, sum, min, max, last (`weir.metrics.records`) and a quantile sketch of
    every series of a metric shard in one hour (`hourly.py`), written by compaction beside
    the minute rollups, with the longer hourly TTL (455 days by default).
- pending  `pend#<metric>` / hour start ns
    Hours of a metric that have segments not yet compacted into chunks. Readers read
    segments for pending hours and chunks for every other hour; `v` counts registrations
    so compaction can tell whether a write raced it.

The series index lives in its own table (see `series_index.py`).
"""

from __future__ import annotations

from weir.metrics.timeutil import NS

PK = "pk"
RANGE = "timestamp"
TTL = "ttl"

SHARDS = 8  # partitions per metric and hour: 8 x 1,000 WCU/s, each unit ~60 points
BUCKET_NS = 3600 * NS  # segments and chunks are cut at whole UTC hours
# Compaction waits this long after an hour closes: a write that finished before the
# hour's end (by its own clock) must be visible to the compactor, so clocks may differ
# by up to this much.
GRACE_NS = 10 * 60 * NS
SEGMENT_POINTS = 8_192  # at most ~200 KB raw per item, well under DynamoDB's 400 KB
CHUNK_POINTS = 16_384
# Series per rollup item: at most 60 minutes x 29 bytes each, ~340 KB raw before zlib,
# so an item stays under DynamoDB's 400 KB whatever the values.
ROLLUP_SERIES = 192

SEGMENT = "seg"
CHUNK = "chk"
PENDING = "pend"
ROLLUP = "rup"
HOURLY = "hour"
_HASH_DIGITS = 10**16


def bucket_of(ts_ns: int) -> int:
    return ts_ns - ts_ns % BUCKET_NS


def shard_of(series_id: int) -> int:
    return series_id % SHARDS


def segment_pk(name: str, bucket_ns: int, shard: int) -> str:
    return f"{SEGMENT}#{name}#{bucket_ns // NS}#{shard}"


def parse_segment_pk(pk: str) -> tuple[str, int, int] | None:
    """(metric, hour start ns, shard) of a segment key, or None for other item kinds."""
    kind, _, rest = pk.partition("#")
    if kind != SEGMENT:
        return None
    name, hour, shard = rest.rsplit("#", 2)
    return name, int(hour) * NS, int(shard)


def segment_range(first_ts: int, digest: bytes) -> str:
    """A DynamoDB number: the first point's ns, and a content hash as a 16-digit fraction.

    35 significant digits, within DynamoDB's 38. Left-padding keeps the fraction's value
    unique even though DynamoDB drops trailing zeros.
    """
    return f"{first_ts}.{int.from_bytes(digest[:8], 'big') % _HASH_DIGITS:016d}"


def chunk_pk(series_id: int) -> str:
    return f"{CHUNK}#{series_id}"


def rollup_pk(name: str, shard: int) -> str:
    return f"{ROLLUP}#{name}#{shard}"


def hourly_pk(name: str, shard: int) -> str:
    return f"{HOURLY}#{name}#{shard}"


def pending_pk(name: str) -> str:
    return f"{PENDING}#{name}"


# What the `stream` function needs to see: infra passes this as the event source
# mapping's filter, so chunk, rollup and pending writes never invoke it.
STREAM_FILTER_PATTERN = {
    "eventName": ["INSERT", "MODIFY"],
    "dynamodb": {"Keys": {PK: {"S": [{"prefix": f"{SEGMENT}#"}]}}},
}
