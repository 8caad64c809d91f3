"""Per-minute rollups on DynamoDB (moto server): written by compaction, read for whole
compacted hours only, rewritten when a late write re-opens an hour; queries answered from
them equal the raw answers."""

from __future__ import annotations

import time

import pytest

from tests.conftest import FakeClock
from weir.backends.aws import key_schema as keys
from weir.backends.aws.codec import decode_rollups, encode_rollups
from weir.backends.aws.metrics import DynamoMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.query.service import QueryService
from weir.metrics.rollup import MINUTE_NS, build_minutes
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

RETENTION = 30 * 86_400
HOUR = keys.BUCKET_NS
H0 = (int(time.time()) // 3600 - 8) * HOUR  # an hour start eight hours ago


class RawOnly:
    """The same store without its rollups: what the query service does without them."""

    def __init__(self, store):
        self._store = store

    def __getattr__(self, name):
        if name in ("read_rollups", "read_records", "record_levels"):
            raise AttributeError(name)
        return getattr(self._store, name)


@pytest.fixture
def clock():
    return FakeClock(H0 / NS + 3 * 3600 + 1800)  # H0, H0+1h closed and past the grace; H0+3h open


@pytest.fixture
def store(dynamodb, aws_tables, clock):
    s = DynamoMetricStore(dynamodb, metrics_table=aws_tables[0], series_table=aws_tables[1],
                          retention_seconds=RETENTION, clock=clock)
    yield s
    s.close()


def write(store, members, points, new=True):
    """points: (seconds after H0, value), written for every member (value + member index)."""
    b = PointBatch(new_series=list(members) if new else [])
    for i, s in enumerate(members):
        for sec, v in points:
            b.series_ids.append(s.id)
            b.timestamps.append(H0 + sec * NS)
            b.values.append(float(v + i))
    store.append(b)


def items(dynamodb, table, pk):
    return dynamodb.query(TableName=table, KeyConditionExpression="pk = :p",
                          ExpressionAttributeValues={":p": {"S": pk}})["Items"]


def hosts(n):
    return [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(n)]


def test_rollup_blobs_round_trip_and_select_series():
    a = build_minutes([H0 + 5 * NS, H0 + 6 * NS, H0 + 3599 * NS], [1.5, -2.0, 9.0])
    b = build_minutes([H0 + 61 * NS], [4.0])
    blob = encode_rollups(H0, [(3, a), (-7, b)])
    assert decode_rollups(blob, H0) == {3: a, -7: b}
    assert decode_rollups(blob, H0, {-7}) == {-7: b}
    assert decode_rollups(encode_rollups(H0, []), H0) == {}


def test_compaction_writes_every_shards_rollups_and_reads_cover_only_compacted_hours(store, dynamodb, aws_tables):
    members = hosts(3)
    write(store, members, [(60, 1), (70, 3), (3600 + 5, 10), (3 * 3600 + 1, 100)])
    assert store.read_rollups([s.id for s in members], H0, H0 + 4 * HOUR).covered == []  # all pending
    done = store.compact_all_due()
    assert sorted(r.compacted for r in done) == [True, True]  # H0 and H0+1h; H0+3h is open
    for shard in range(keys.SHARDS):  # part 0 of every shard, empty ones too
        got = sorted(int(i["timestamp"]["N"]) for i in items(dynamodb, aws_tables[0], keys.rollup_pk("cpu", shard)))
        assert got == [H0, H0 + HOUR]

    r = store.read_rollups([s.id for s in members], H0, H0 + 4 * HOUR)
    assert r.covered == [(H0, H0 + 2 * HOUR)]  # H0+2h had no writes (no rollups), H0+3h is pending
    s0 = r.series[members[0].id]
    assert s0.ts == [H0 + MINUTE_NS, H0 + HOUR]
    assert (s0.count, s0.sum, s0.min, s0.max) == ([2, 1], [4.0, 10.0], [1.0, 10.0], [3.0, 10.0])
    assert r.series[members[2].id].sum == [8.0, 12.0]
    # a range that starts inside an hour covers only the whole hours after it
    assert store.read_rollups([members[0].id], H0 + 1, H0 + 2 * HOUR).covered == [(H0 + HOUR, H0 + 2 * HOUR)]
    assert store.read_rollups([members[0].id], H0, H0 + HOUR - 1).covered == []


def test_hours_without_rollups_are_not_covered(store):
    """H0+2h had no writes: no rollup items, so it is read raw (and holds nothing)."""
    members = hosts(1)
    write(store, members, [(60, 1), (2 * 3600 + 60, 2)])
    store.compact_all_due()
    r = store.read_rollups([members[0].id], H0, H0 + 3 * HOUR)
    assert r.covered == [(H0, H0 + HOUR), (H0 + 2 * HOUR, H0 + 3 * HOUR)]


def test_a_late_write_uncovers_its_hour_until_recompaction_rewrites_its_rollups(store, dynamodb, aws_tables):
    members = hosts(2)
    write(store, members, [(60, 1), (120, 2)])
    store.compact_all_due()
    ids = [s.id for s in members]
    assert store.read_rollups(ids, H0, H0 + HOUR).covered == [(H0, H0 + HOUR)]
    write(store, members[:1], [(60, 50), (180, 7)], new=False)  # replaces one point, adds one
    assert store.read_rollups(ids, H0, H0 + HOUR).covered == []  # pending again: raw
    before = {k: len(items(dynamodb, aws_tables[0], keys.rollup_pk("cpu", k))) for k in range(keys.SHARDS)}
    [result] = store.compact_due("cpu")
    assert result.compacted
    after = {k: len(items(dynamodb, aws_tables[0], keys.rollup_pk("cpu", k))) for k in range(keys.SHARDS)}
    assert after == before  # the same items, rewritten
    r = store.read_rollups(ids, H0, H0 + HOUR)
    m = r.series[members[0].id]
    assert (m.ts, m.count, m.sum, m.max) == ([H0 + MINUTE_NS, H0 + 2 * MINUTE_NS, H0 + 3 * MINUTE_NS],
                                             [1, 1, 1], [50.0, 2.0, 7.0], [50.0, 2.0, 7.0])
    assert r.series[members[1].id].sum == [2.0, 3.0]


def test_shards_with_many_series_split_into_parts_and_stale_parts_are_ignored(store, dynamodb, aws_tables,
                                                                             monkeypatch):
    monkeypatch.setattr(keys, "ROLLUP_SERIES", 2)
    members = hosts(40)  # ~5 per shard: 3 parts each
    write(store, members, [(60, 1)])
    store.compact_all_due()
    ids = [s.id for s in members]
    r = store.read_rollups(ids, H0, H0 + HOUR)
    assert sorted(r.series) == sorted(ids) and all(m.count == [1] for m in r.series.values())
    by_shard = {k: items(dynamodb, aws_tables[0], keys.rollup_pk("cpu", k)) for k in range(keys.SHARDS)}
    assert max(len(v) for v in by_shard.values()) >= 3
    # the same hour recompacted with larger parts leaves the old higher parts behind: ignored
    monkeypatch.setattr(keys, "ROLLUP_SERIES", 192)
    write(store, members[:1], [(120, 5)], new=False)
    store.compact_due("cpu")
    again = store.read_rollups(ids, H0, H0 + HOUR)
    assert sorted(again.series) == sorted(ids)
    assert again.series[members[0].id].count == [1, 1]
    assert sum(m.points() for m in again.series.values()) == 41


@pytest.mark.parametrize("params", [
    {"period": "60", "stat": "count,sum,avg,min,max"},
    {"period": "3600", "stat": "avg,max", "group_by": "host"},
    {"period": "600", "stat": "min,count", "dim.host": "h1"},
])
def test_queries_from_rollups_equal_the_raw_answers(store, params):
    members = hosts(5)
    write(store, members, [(s, s % 97) for s in range(0, 3 * 3600 + 1800, 37)])  # to now; H0+3h is open
    store.compact_all_due()
    q = {"start": str(H0 // NS + 1800), "end": str(H0 // NS + 4 * 3600), **params}  # a partial first hour
    rolled = QueryService(store, RETENTION, store.clock)
    raw = QueryService(RawOnly(store), RETENTION, store.clock)
    got, want = rolled.query("cpu", q), raw.query("cpu", q)
    assert got.groups == want.groups
    level = "1h" if params["period"] == "3600" else "1m"  # the coarsest rollups that answer exactly
    assert {r.resolution for r in got.resolutions} == {level, "raw"} and want.resolutions[0].resolution == "raw"
    assert raw.read_counts["rollup_queries"] == 0
    assert rolled.read_counts["rollup_queries"] == 1
    assert rolled.read_counts["rollup_points"] > 0
    total = raw.read_counts["raw_points"]
    assert rolled.read_counts["rollup_points"] + rolled.read_counts["raw_points"] == total
    assert rolled.read_counts["raw_points"] < total / 2  # the half hour and the open hour


def test_percentiles_and_sub_minute_periods_read_raw_points(store):
    members = hosts(2)
    write(store, members, [(60, 1), (3600 + 60, 2)])
    store.compact_all_due()
    svc = QueryService(store, RETENTION, store.clock)
    for params in ({"stat": "p50,avg", "period": "60"}, {"stat": "avg", "period": "30"}):
        svc.query("cpu", {"start": str(H0 // NS), "end": str(H0 // NS + 2 * 3600), **params})
    assert svc.read_counts["rollup_queries"] == 0 and svc.read_counts["raw_points"] == 8


def test_minute_rollups_have_a_memory_bound_like_raw_points(store, monkeypatch):
    """Rollups do not lift the bound on what one query holds in memory: past
    MAX_ROLLUP_RECORDS the answer is the same 413 a raw query gets."""
    from weir.errors import PayloadTooLargeError
    from weir.metrics.query import service as query

    members = hosts(3)
    write(store, members, [(s, 1) for s in range(0, 2 * 3600, 60)])
    store.compact_all_due()
    params = {"start": str(H0 // NS), "end": str(H0 // NS + 2 * 3600), "stat": "avg", "period": "3600"}
    svc = QueryService(store, RETENTION, store.clock)
    svc.query("cpu", params)
    assert svc.read_counts["rollup_hours"] == 3 * 2  # period=1h: the hourly rollups answer
    params["period"] = "1800"
    svc.query("cpu", params)
    assert svc.read_counts["rollup_minutes"] == 3 * 120
    monkeypatch.setattr(query, "MAX_ROLLUP_RECORDS", 3 * 120 - 1)
    with pytest.raises(PayloadTooLargeError, match="360 rollups"):
        svc.query("cpu", params)


def test_a_full_rollup_item_stays_under_dynamodbs_item_limit():
    """ROLLUP_SERIES series with every minute filled by incompressible values."""
    import random

    rnd = random.Random(7)
    series = []
    for sid in range(keys.ROLLUP_SERIES):
        m = build_minutes([H0 + k * MINUTE_NS for k in range(60)], [rnd.uniform(-1e9, 1e9) for _ in range(60)])
        m.min = [rnd.uniform(-1e9, 1e9) for _ in range(60)]
        m.max = [rnd.uniform(-1e9, 1e9) for _ in range(60)]
        m.count = [rnd.randrange(1, 2**31) for _ in range(60)]
        series.append((sid * 7919 - 2**62, m))
    blob = encode_rollups(H0, series)
    assert len(blob) < 390 * 1024
    assert decode_rollups(blob, H0) == dict(series)
