"""Compaction of closed hours into per-series chunks, and the key layout behind it."""

from __future__ import annotations

import time

import pytest

from tests.conftest import FakeClock
from weir.backends.aws import key_schema as keys
from weir.backends.aws.metrics import DynamoMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

RETENTION = 30 * 86_400
HOUR = keys.BUCKET_NS
H0 = (int(time.time()) // 3600 - 5) * HOUR  # an hour five hours ago


@pytest.fixture
def clock():
    return FakeClock(H0 / NS + 1800)  # half way through hour H0


@pytest.fixture
def make_store(dynamodb, aws_tables, clock):
    def make(client=None):
        return DynamoMetricStore(
            client or dynamodb, metrics_table=aws_tables[0], series_table=aws_tables[1],
            retention_seconds=RETENTION, clock=clock,
        )

    return make


def write(store, members, ts, value=1.0, new=True):
    b = PointBatch(new_series=list(members) if new else [])
    for s in members:
        b.series_ids.append(s.id)
        b.timestamps.append(ts)
        b.values.append(value)
    store.append(b)


def pending_hours(dynamodb, table, name="cpu"):
    items = dynamodb.query(
        TableName=table, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": f"pend#{name}"}}
    )["Items"]
    return sorted(int(i["timestamp"]["N"]) for i in items)


def test_open_hours_are_never_compacted_and_closed_ones_are(make_store, clock, dynamodb, aws_tables):
    store = make_store()
    s = make_series("cpu", {"host": "a"}, "gauge", None)
    write(store, [s], H0 + 60 * NS)
    assert pending_hours(dynamodb, aws_tables[0]) == [H0]
    with pytest.raises(ValueError, match="not closed"):
        store.compact("cpu", H0)
    clock.t = (H0 + HOUR + keys.GRACE_NS) / NS - 1  # closed, but within the grace
    assert store.compact_due("cpu") == []
    clock.t += 2
    [result] = store.compact_due("cpu")
    assert result.compacted and result.series == 1 and result.points == 1
    assert pending_hours(dynamodb, aws_tables[0]) == []
    assert store.read([s.id], H0, H0 + HOUR) == {s.id: ([H0 + 60 * NS], [1.0])}
    assert store.compact("cpu", H0) .compacted is False  # nothing pending any more


def test_a_write_racing_compaction_keeps_the_hour_pending(make_store, clock, dynamodb, aws_tables):
    s = make_series("cpu", {"host": "a"}, "gauge", None)
    writer = make_store()
    write(writer, [s], H0 + 60 * NS, 1.0)
    clock.t = (H0 + 2 * HOUR) / NS

    class RacingClient:
        """Lets a late write land between the compactor's reads and its conditional delete."""

        def __getattr__(self, name):
            real = getattr(dynamodb, name)
            if name == "delete_item":
                def delete(**kwargs):
                    write(writer, [s], H0 + 120 * NS, 2.0, new=False)
                    return real(**kwargs)
                return delete
            return real

    result = make_store(RacingClient()).compact("cpu", H0)
    assert not result.compacted and result.points == 1
    assert pending_hours(dynamodb, aws_tables[0]) == [H0]
    reader = make_store()
    want = {s.id: ([H0 + 60 * NS, H0 + 120 * NS], [1.0, 2.0])}
    assert reader.read([s.id], H0, H0 + HOUR) == want  # the late point is read from its segment
    [again] = reader.compact_due("cpu")
    assert again.compacted and again.points == 2
    assert make_store().read([s.id], H0, H0 + HOUR) == want


def test_a_hot_metric_spreads_over_all_shards_and_series_keep_their_shard(make_store, dynamodb, aws_tables):
    store = make_store()
    members = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(200)]
    write(store, members, H0 + NS)
    write(store, members, H0 + 2 * NS, new=False)
    segs = [i for i in dynamodb.scan(TableName=aws_tables[0])["Items"] if i["pk"]["S"].startswith("seg#")]
    assert len({i["pk"]["S"] for i in segs}) == keys.SHARDS  # 8 partitions, not one
    assert len(segs) == 2 * keys.SHARDS  # one item per request and shard, not per point
    assert all(len(i["d"]["B"]) < 1024 for i in segs)  # ~25 points in under a write unit
    for s in members:
        assert keys.segment_pk("cpu", H0, keys.shard_of(s.id)).endswith(f"#{s.id % keys.SHARDS}")


def test_reads_drop_items_whose_ttl_has_passed(make_store, clock):
    """moto never expires items (nor does DynamoDB promptly): reads filter on `ttl`."""
    store = make_store()
    s = make_series("cpu", {"host": "a"}, "gauge", None)
    write(store, [s], H0 + NS)
    clock.t = (H0 + 3 * HOUR) / NS
    assert store.compact_due("cpu")[0].compacted
    write(store, [s], H0 + 3 * HOUR + NS, new=False)  # a live segment in a pending hour
    assert len(store.read([s.id], H0, H0 + 4 * HOUR)[s.id][0]) == 2
    clock.t = (H0 + 4 * HOUR) / NS + RETENTION + 1  # past every item's ttl
    assert store.read([s.id], H0, H0 + 4 * HOUR) == {}


def test_segment_keys_parse_back_and_the_stream_filter_selects_them():
    pk = keys.segment_pk("http.requests:total", H0, 5)
    assert keys.parse_segment_pk(pk) == ("http.requests:total", H0, 5)
    assert keys.parse_segment_pk(keys.chunk_pk(-42)) is None
    assert keys.parse_segment_pk(keys.pending_pk("cpu")) is None
    prefix = keys.STREAM_FILTER_PATTERN["dynamodb"]["Keys"]["pk"]["S"][0]["prefix"]
    assert pk.startswith(prefix) and not keys.chunk_pk(1).startswith(prefix)
    for other in (keys.rollup_pk("seg", 0), keys.rollup_pk("cpu", 7), keys.pending_pk("seg")):
        assert not other.startswith(prefix) and keys.parse_segment_pk(other) is None  # never invokes `stream`
    a = keys.segment_range(H0, bytes(8))
    b = keys.segment_range(H0, bytes([0] * 7 + [1]))
    assert a != b and len(b.replace(".", "")) <= 38
