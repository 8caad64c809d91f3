"""The `exporter` function end to end on the moto server: points ingested through the `api`
handler → hourly run → S3 objects (encrypted, manifest last) → the DynamoDB watermark;
catch-up after a gap, compaction of idle metrics, an S3 failure and a repeated run."""

from __future__ import annotations

import gzip
import json
import os
import time

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import FakeClock
from weir.errors import StorageError
from weir.metrics.export import render as export
from weir.metrics.export.schedule import latest_due_hour
from weir.metrics.timeutil import NS

from .conftest import api_call, context, scheduled_event

H = export.HOUR_NS
DELAY = 300 * NS


def run_exporter() -> dict:
    from weir.lambdas import exporter

    return exporter.handler(scheduled_event(), context())


def ingest(points: list[tuple[str, int, float]]) -> None:
    status, body = api_call("POST", "/metrics", {"metrics": [
        {"name": "cpu", "value": v, "timestamp": t, "dimensions": {"host": h}} for h, t, v in points]})
    assert status == 200 and body["accepted"] == len(points), body


def objects(bucket: str) -> dict[str, dict]:
    s3 = boto3.client("s3")
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.head_object(Bucket=bucket, Key=o["Key"]) for o in listed}


def rows_of(bucket: str, hour: int) -> set[tuple]:
    s3 = boto3.client("s3")
    manifest = export.read_manifest(s3.get_object(Bucket=bucket, Key=export.manifest_key(hour))["Body"].read())
    rows = set()
    for part in manifest["parts"]:
        data = gzip.decompress(s3.get_object(Bucket=bucket, Key=part["key"])["Body"].read())
        rows |= {(r["dimensions"]["host"], r["timestamp_ns"], r["value"]) for r in map(json.loads, data.splitlines())}
    return rows


def watermark(tables, bucket: str) -> int | None:
    from weir.backends.aws.export_state import DynamoExportState

    return DynamoExportState(boto3.client("dynamodb"), tables[1]).last_exported(f"s3://{bucket}/")


def test_the_last_closed_hour_lands_in_s3_encrypted_and_a_rerun_adds_nothing(exporter_env, install):
    bucket = exporter_env["bucket"]
    # The exporter on a frozen clock: on the wall clock the due hour changes at :05 each
    # hour, and it did so between this line and the run when the run was slow.
    clock = FakeClock(time.time())
    install("exporter", built("exporter", clock))
    due = latest_due_hour(int(clock.t * NS), DELAY)
    points = [("web-1", due + 5 * 60 * NS, 1.5), ("web-2", due + 35 * 60 * NS, 2.5), ("web-1", due + H - 1, 3.5),
              ("web-1", due + H, 9.0)]  # the last one belongs to the next hour
    ingest(points)

    result = run_exporter()
    assert result["exported"] == [export.format_hour(due)] and result["rows"] == 3
    stored = objects(bucket)
    assert export.manifest_key(due) in stored and len(stored) == 2  # one part and the manifest
    assert {o["ServerSideEncryption"] for o in stored.values()} == {"AES256"}
    assert rows_of(bucket, due) == set(points[:3])
    assert watermark(exporter_env["tables"], bucket) == due

    again = run_exporter()  # EventBridge delivers a repeat, or Lambda retries
    assert again["exported"] == [] and again["rows"] == 0
    assert {k: o["ETag"] for k, o in objects(bucket).items()} == {k: o["ETag"] for k, o in stored.items()}


def built(function: str, clock, **clients):
    """The function's bundle as the runtime builds it, on a clock the test controls."""
    from weir import config
    from weir.wiring.api import build_api
    from weir.wiring.aws import AwsClients
    from weir.wiring.exporter import build_exporter

    build = {"api": build_api, "exporter": build_exporter}[function]
    return build(config.Settings.for_lambda(os.environ, function), clock=clock, clients=AwsClients(**clients))


def table_kinds(table: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in boto3.client("dynamodb").scan(TableName=table)["Items"]:  # the test looks; the code never scans
        kind = item["pk"]["S"].split("#")[0]
        out[kind] = out.get(kind, 0) + 1
    return out


def test_hours_missed_are_caught_up_in_order_and_idle_metrics_compacted(exporter_env, install):
    from weir.backends.aws.export_state import DynamoExportState

    bucket, tables = exporter_env["bucket"], exporter_env["tables"]
    h0 = export.floor_hour(time.time_ns()) - 6 * H
    clock = FakeClock((h0 + 3 * H + 12 * 60 * NS) / NS)  # 12 minutes past the hour after h0 + 2h
    install("api_services", built("api", clock))
    install("exporter", built("exporter", clock))
    DynamoExportState(boto3.client("dynamodb"), tables[1]).set_last_exported(f"s3://{bucket}/", h0 - H)
    ingest([(f"web-{k}", h0 + k * H + 600 * NS, float(k)) for k in range(3)])
    assert table_kinds(tables[0])["pend"] == 3  # three closed hours not compacted yet: the stream never ran

    result = run_exporter()
    assert result["exported"] == [export.format_hour(h0 + k * H) for k in range(3)]
    for k in range(3):
        assert rows_of(bucket, h0 + k * H) == {(f"web-{k}", h0 + k * H + 600 * NS, float(k))}
    assert watermark(tables, bucket) == h0 + 2 * H
    assert result["compacted"] == 3 and "pend" not in table_kinds(tables[0])
    assert table_kinds(tables[0])["chk"] == 3


class FailingPuts:
    """The real S3 client whose first `failures` PutObject calls fail (the only mock here)."""

    def __init__(self, client, failures: int = 1) -> None:
        self._client = client
        self.failures = failures

    def __getattr__(self, name):
        return getattr(self._client, name)

    def put_object(self, **kwargs):
        if self.failures > 0:
            self.failures -= 1
            raise ClientError({"Error": {"Code": "InternalError", "Message": "S3 is down"}}, "PutObject")
        return self._client.put_object(**kwargs)


def test_a_failed_put_leaves_no_manifest_and_the_next_run_exports_the_hour(exporter_env, install):
    bucket, tables = exporter_env["bucket"], exporter_env["tables"]
    hour = export.floor_hour(time.time_ns()) - 3 * H
    clock = FakeClock((hour + H + 10 * 60 * NS) / NS)
    install("api_services", built("api", clock))
    ingest([("web-1", hour + 60 * NS, 4.0), ("web-2", hour + 120 * NS, 5.0)])
    s3 = FailingPuts(boto3.client("s3"))
    install("exporter", built("exporter", clock, s3=s3))

    with pytest.raises(StorageError, match="S3 is down"):
        run_exporter()
    assert export.manifest_key(hour) not in objects(bucket)
    assert watermark(tables, bucket) is None

    result = run_exporter()  # the next run (or Lambda's retry of this one)
    assert result["exported"] == [export.format_hour(hour)]
    stored = objects(bucket)
    assert export.manifest_key(hour) in stored and {o["ServerSideEncryption"] for o in stored.values()} == {"AES256"}
    assert rows_of(bucket, hour) == {("web-1", hour + 60 * NS, 4.0), ("web-2", hour + 120 * NS, 5.0)}
    assert watermark(tables, bucket) == hour


def test_the_exporter_needs_its_bucket(lambda_env, monkeypatch):
    from weir import config
    from weir.lambdas import runtime

    monkeypatch.delenv(config.ENV_METRICS_BUCKET, raising=False)
    runtime.reset()
    with pytest.raises(config.MissingSettingError, match="METRICS_BUCKET not set"):
        run_exporter()


def test_late_points_for_an_exported_hour_are_exported_again(exporter_env, install):
    """Issue 18, bug 10 on AWS: points written through the `api` function into an hour the
    exporter has exported mark that hour (in the series table); the next run, once the hour
    has been quiet for the export delay, exports it again with them, and clears the mark."""
    bucket = exporter_env["bucket"]
    clock = FakeClock(time.time())
    install("api_services", built("api", clock))
    install("exporter", built("exporter", clock))
    due = latest_due_hour(int(clock.t * NS), DELAY)
    first = [("web-1", due + 60 * NS, 1.0)]
    ingest(first)
    assert run_exporter()["exported"] == [export.format_hour(due)]
    late = [("web-2", due + 120 * NS, 2.0), ("web-1", due + H - NS, 3.0)]
    ingest(late)  # the api function's store marks the closed hour as it writes
    assert run_exporter()["exported"] == []  # not quiet for the delay yet
    clock.t += 301
    result = run_exporter()
    assert export.format_hour(due) in result["exported"]
    assert rows_of(bucket, due) == set(first + late)
    clock.t += 301
    assert export.format_hour(due) not in run_exporter()["exported"]  # the mark is gone
