"""Exporting an hour end to end over real adapters: SQLite store → folder or S3 (moto)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from weir.backends.aws.objects import S3ObjectStore
from weir.backends.folder.objects import FolderObjectStore
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import InvalidInputError, StorageError
from weir.metrics.export import render as export
from weir.metrics.export.service import ExportService
from weir.metrics.ingest import IngestService
from weir.metrics.timeutil import NS
from weir.wire.json import ingest_json

HOUR = export.parse_hour("2026-11-22T10")
H = export.HOUR_NS
NOW = HOUR + 3 * H + 17 * NS


def clock() -> float:
    return NOW / NS


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "metrics.db", retention_seconds=30 * 86400, clock=clock)
    yield s
    s.close()


def ingest(store, points: list[dict], now=clock) -> None:
    service = IngestService(store, 30 * 86400, clock=now)
    for i in range(0, len(points), 5000):
        assert ingest_json(service, json.dumps({"metrics": points[i : i + 5000]})).rejected == []


def make_points(n_series: int, step_s: int, hour: int = HOUR, seed: int = 1) -> list[dict]:
    rnd = random.Random(seed)
    pts = []
    for t in range(hour, hour + H, step_s * NS):
        for i in range(n_series):
            dims = {"host": f"h{i}", "region": f"r{i % 3}"}
            pts.append({"name": "cpu" if i % 2 else "mem", "dimensions": dims, "timestamp": t,
                        "value": rnd.uniform(-1e6, 1e6), "type": "gauge", "unit": "pct" if i % 4 == 0 else None})
    for p in pts:
        if p["unit"] is None:
            del p["unit"]
    return pts


def read_hour(objects, hour: int) -> tuple[dict, list[dict]]:
    """What a consumer does: read the manifest, check every part against it, parse the rows."""
    doc = export.read_manifest(objects.get(export.manifest_key(hour)))
    rows = []
    for part in doc["parts"]:
        data = objects.get(part["key"])
        assert hashlib.sha256(data).hexdigest() == part["sha256"] and len(data) == part["bytes"]
        if doc["format"] == "parquet":
            import pyarrow.parquet as pq

            table = pq.read_table(io.BytesIO(data)).drop_columns(["timestamp"])
            got = [dict(r, dimensions=dict(r["dimensions"])) for r in table.to_pylist()]
        else:
            got = [json.loads(line) for line in gzip.decompress(data).decode().splitlines()]
        assert len(got) == part["rows"]
        rows.extend(got)
    assert len(rows) == doc["rows"]
    return doc, rows


def as_points(rows: list[dict]) -> set:
    return {(r["name"], tuple(sorted(r["dimensions"].items())), r["timestamp_ns"], r["value"], r.get("unit"))
            for r in rows}


def wanted(points: list[dict], hour: int = HOUR) -> set:
    return {(p["name"], tuple(sorted(p["dimensions"].items())), p["timestamp"], p["value"], p.get("unit"))
            for p in points if hour <= p["timestamp"] < hour + H}


@pytest.mark.parametrize("flushed", [False, True], ids=["head", "chunks"])
@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_round_trip_every_point(store, tmp_path, fmt, flushed):
    points = make_points(40, 30)  # 4,800 points in the hour
    neighbours = make_points(5, 600, HOUR - H, 2) + make_points(5, 600, HOUR + H, 3)
    ingest(store, points + neighbours)
    if flushed:
        store.flush()
    objects = FolderObjectStore(tmp_path / "exports")
    result = ExportService(store, objects, fmt=fmt, rows_per_part=1000, clock=clock).export_hour(HOUR)
    doc, rows = read_hour(objects, HOUR)
    assert as_points(rows) == wanted(points) and len(rows) == len(points)
    assert result.rows == doc["rows"] == 4800 and doc["series"] == 40
    assert len(doc["parts"]) == 5 and doc["format"] == fmt
    assert doc["first_timestamp_ns"] == HOUR and doc["last_timestamp_ns"] == HOUR + H - 30 * NS
    assert result.keys[-1] == export.manifest_key(HOUR)


def test_rerun_gives_the_same_keys_and_bytes_and_no_duplicates(store, tmp_path):
    ingest(store, make_points(30, 60))
    objects = FolderObjectStore(tmp_path / "exports")
    service = ExportService(store, objects, rows_per_part=500, clock=clock)
    service.export_hour(HOUR)
    prefix = export.hour_prefix(HOUR)
    before = {k: objects.get(k) for k in objects.list(prefix)}
    store.flush()  # the second run reads chunks instead of the head: same output
    service.export_hour(HOUR)
    after = {k: objects.get(k) for k in objects.list(prefix)}
    assert after == before
    assert len(before) == 1800 // 500 + 1 + 1
    _, rows = read_hour(objects, HOUR)
    assert len(rows) == len(as_points(rows)) == 1800
    assert sorted((tmp_path / "exports").rglob(".*")) == []  # no temp files left behind


def test_rerun_after_data_shrinks_deletes_the_stale_parts(store, tmp_path):
    objects = FolderObjectStore(tmp_path / "exports")
    ingest(store, make_points(30, 60))
    ExportService(store, objects, rows_per_part=500, clock=clock).export_hour(HOUR)
    result = ExportService(store, objects, rows_per_part=1000, clock=clock).export_hour(HOUR)
    prefix = export.hour_prefix(HOUR)
    assert objects.list(prefix) == [prefix + "_manifest.json", prefix + "part-00000.jsonl.gz",
                                    prefix + "part-00001.jsonl.gz"]
    assert result.deleted == [prefix + "part-00002.jsonl.gz", prefix + "part-00003.jsonl.gz"]
    # switching format replaces the other format's parts too
    ExportService(store, objects, fmt="parquet", clock=clock).export_hour(HOUR)
    assert objects.list(prefix) == [prefix + "_manifest.json", prefix + "part-00000.parquet"]
    assert len(read_hour(objects, HOUR)[1]) == 1800


def test_an_empty_hour_gets_a_manifest_with_zero_rows(store, tmp_path):
    objects = FolderObjectStore(tmp_path / "exports")
    ingest(store, make_points(3, 600, HOUR + H))
    result = ExportService(store, objects, clock=clock).export_hour(HOUR)
    doc, rows = read_hour(objects, HOUR)
    assert result.rows == 0 and rows == [] and doc["parts"] == []
    assert objects.list(export.hour_prefix(HOUR)) == [export.manifest_key(HOUR)]


def test_the_log_line_names_the_whole_destination(store, tmp_path, caplog):
    objects = FolderObjectStore(tmp_path / "exports")
    ingest(store, make_points(2, 600))
    with caplog.at_level("INFO", logger="weir.metrics.export.service"):
        ExportService(store, objects, clock=clock).export_hour(HOUR)
    assert f"{objects.root.as_uri()}/{export.hour_prefix(HOUR)}" in caplog.text


def test_an_open_hour_is_refused(store, tmp_path):
    service = ExportService(store, FolderObjectStore(tmp_path / "x"), clock=clock)
    with pytest.raises(InvalidInputError, match="has not closed yet"):
        service.export_hour(HOUR + 3 * H)
    with pytest.raises(InvalidInputError, match="start of an hour"):
        service.export_hour(HOUR + 1)


class FailingPuts:
    """Failure injection: the wrapped store's put fails on chosen calls."""

    def __init__(self, inner, fail_on: set[int]):
        self.inner, self.fail_on, self.puts = inner, fail_on, 0
        self.backend, self.url = inner.backend, inner.url

    def put(self, key, data, **kw):
        self.puts += 1
        if self.puts in self.fail_on:
            raise StorageError(f"injected failure writing {key}")
        self.inner.put(key, data, **kw)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def test_a_failed_put_leaves_no_manifest_and_a_retry_completes(store, tmp_path):
    ingest(store, make_points(30, 60))
    folder = FolderObjectStore(tmp_path / "exports")
    ExportService(store, folder, rows_per_part=500, clock=clock).export_hour(HOUR)  # a complete earlier run
    ingest(store, make_points(30, 60, seed=9))  # late data changes every value
    flaky = FailingPuts(folder, {2})
    with pytest.raises(StorageError, match="injected"):
        ExportService(store, flaky, rows_per_part=500, clock=clock).export_hour(HOUR)
    assert export.manifest_key(HOUR) not in folder.list(export.hour_prefix(HOUR))
    ExportService(store, flaky, rows_per_part=500, clock=clock).export_hour(HOUR)
    _, rows = read_hour(folder, HOUR)
    assert as_points(rows) == wanted(make_points(30, 60, seed=9))


def test_export_to_s3_encrypts_every_object(store, s3_bucket):
    client, bucket = s3_bucket
    points = make_points(20, 60)
    ingest(store, points)
    objects = S3ObjectStore(client, bucket, "exports")
    result = ExportService(store, objects, rows_per_part=1000, clock=clock).export_hour(HOUR)
    listed = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert sorted(listed) == sorted("exports/" + k for k in result.keys) and len(listed) == 3
    for key in listed:
        head = client.head_object(Bucket=bucket, Key=key)
        assert head["ServerSideEncryption"] == "AES256"
        if key.endswith(".jsonl.gz"):
            assert (head["ContentType"], head["ContentEncoding"]) == ("application/x-ndjson", "gzip")
        else:
            assert head["ContentType"] == "application/json"
    _, rows = read_hour(objects, HOUR)
    assert as_points(rows) == wanted(points)


def test_a_failed_s3_put_leaves_no_manifest(store, s3_bucket):
    client, bucket = s3_bucket
    ingest(store, make_points(20, 60))
    objects = S3ObjectStore(client, bucket)
    real, calls = client.put_object, []

    def fail_second(**kw):
        calls.append(kw["Key"])
        if len(calls) == 2:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "We encountered an internal error"}},
                              "PutObject")
        return real(**kw)

    with mock.patch.object(client, "put_object", side_effect=fail_second):
        with pytest.raises(StorageError, match="InternalError"):
            ExportService(store, objects, rows_per_part=500, clock=clock).export_hour(HOUR)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [export.part_key(HOUR, 0, "jsonl")]
    assert not any(k.endswith("_manifest.json") for k in keys)
