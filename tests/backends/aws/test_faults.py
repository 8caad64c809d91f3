"""Throttling and UnprocessedItems are retried with backoff and nothing is lost; when the
retries run out the caller gets a StorageError and nothing is acknowledged."""

from __future__ import annotations

import time

import pytest

from weir.backends.aws import key_schema as keys
from weir.backends.aws.dynamo import Dynamo
from weir.backends.aws.metrics import DynamoMetricStore
from weir.errors import StorageError
from weir.metrics.ingest import IngestService
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS
from weir.wire.json import ingest_json

from .faults import FlakyClient

RETENTION = 30 * 86_400


@pytest.fixture
def make_store(dynamodb, aws_tables):
    sleeps: list[float] = []

    def make(**faults):
        client = FlakyClient(dynamodb, **faults)
        store = DynamoMetricStore(
            client,
            metrics_table=aws_tables[0],
            series_table=aws_tables[1],
            retention_seconds=RETENTION,
            sleep=sleeps.append,
        )
        return store, client

    make.sleeps = sleeps
    return make


def many_points(n_series=120, per_series=3):
    now = int(time.time())
    members = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(n_series)]
    b = PointBatch(new_series=members)
    for k in range(per_series):
        for i, s in enumerate(members):
            b.series_ids.append(s.id)
            b.timestamps.append((now - 60 + k) * NS)
            b.values.append(float(i * 10 + k))
    return members, b


def all_points(store, members, start=0, end=2**62):
    got = store.read([s.id for s in members], start, end)
    return sum(len(v[0]) for v in got.values())


def test_throttled_batch_writes_are_retried_and_nothing_is_lost(make_store):
    store, client = make_store(throttle={"batch_write_item": 3, "update_item": 2})
    members, b = many_points()
    store.append(b)
    assert client.throttle == {"batch_write_item": 0, "update_item": 0}
    assert len(make_store.sleeps) == 5 and all(0 <= s <= 2.0 for s in make_store.sleeps)
    assert all_points(store, members) == len(b)


def test_unprocessed_items_are_sent_again_until_all_are_written(make_store):
    store, client = make_store(unprocessed=6)
    members, b = many_points()
    store.append(b)
    assert client.unprocessed == 0 and client.left_unprocessed > 0
    assert all_points(store, members) == len(b)
    assert store.metric_names() == {"cpu": len(members)}


def test_throttled_reads_are_retried(make_store):
    store, _ = make_store()
    members, b = many_points(10, 1)
    store.append(b)
    for hour in {keys.bucket_of(t) for t in b.timestamps}:  # so that reads fetch chunks too
        assert store.compact("cpu", hour, force=True).compacted
    flaky, client = make_store(throttle={"query": 2, "batch_get_item": 1, "get_item": 1})
    now = int(time.time()) * NS
    assert all_points(flaky, members, now - 7200 * NS, now + 3600 * NS) == len(b)
    assert client.throttle == {"query": 0, "batch_get_item": 0, "get_item": 0}


def test_when_retries_run_out_the_write_fails_loudly_and_a_retry_lands_once(make_store, dynamodb, aws_tables):
    store, client = make_store(throttle={"batch_write_item": 100})
    ingest = IngestService(store, RETENTION)
    point = b'{"name": "cpu", "value": 1, "dimensions": {"host": "a"}, "timestamp": %d}' % int(time.time())
    body = b'{"metrics": [%s]}' % point
    with pytest.raises(StorageError, match="throttling.*nothing of this request was acknowledged"):
        ingest_json(ingest, body)
    assert client.calls.count("batch_write_item") == store.db.max_attempts
    client.throttle.clear()
    assert ingest_json(ingest, body).accepted == 1  # the client's retry
    assert ingest_json(ingest, body).accepted == 1  # and once more: the same point, once
    [s] = store.series_of("cpu")
    assert len(store.read([s.id], 0, 2**62)[s.id][0]) == 1
    segments = dynamodb.scan(TableName=aws_tables[0])["Items"]  # the test may look; the store never scans
    assert sum(1 for i in segments if i["pk"]["S"].startswith("seg#")) == 1


def test_backoff_is_exponential_capped_and_jittered():
    sleeps = []
    db = Dynamo(None, base_delay=0.05, max_delay=2.0, sleep=sleeps.append, rng=lambda: 1.0)
    for attempt in range(8):
        db.backoff(attempt)
    assert sleeps == [0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    jittered = []
    db = Dynamo(None, sleep=jittered.append, rng=lambda: 0.25)
    db.backoff(3)
    assert jittered == [0.25 * 0.4]


def test_a_missing_table_is_a_clear_storage_error(dynamodb):
    store = DynamoMetricStore(dynamodb, metrics_table="nope-m", series_table="nope-s", retention_seconds=RETENTION)
    with pytest.raises(StorageError, match="'nope-s' does not exist.*--create-tables"):
        store.metric_names()
    assert StorageError.status == 503
