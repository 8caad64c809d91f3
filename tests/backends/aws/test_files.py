"""The DynamoDB file catalog goes through `Dynamo`: throttling is retried, and when the
retries run out the caller gets a StorageError and nothing is half-recorded."""

from __future__ import annotations

import uuid

import boto3
import pytest

from tests.backends.aws.tables import create_files_table
from weir.backends.aws.files import DynamoFileCatalog
from weir.errors import StorageError
from weir.files.record import CREATED, FileRecord

from .faults import FlakyClient


def record(key: str) -> FileRecord:
    return FileRecord(bucket="b", key=key, state=CREATED, sequencer="00000000000000000A", size=3, etag="e",
                      event_name="ObjectCreated:Put", event_time="2026-01-01T00:00:00.000Z",
                      processed_at="2026-01-01T00:00:01.000Z")


@pytest.fixture
def table(moto_endpoint):
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="eu-west-1")
    name = f"files-{uuid.uuid4().hex[:8]}"
    create_files_table(client, name)
    return client, name


def test_throttled_writes_and_reads_are_retried(table):
    client, name = table
    flaky = FlakyClient(client, throttle={"put_item": 3, "get_item": 2, "query": 2})
    catalog = DynamoFileCatalog(flaky, name)
    catalog._db.sleep = lambda s: None
    assert catalog.put(record("a.txt"))
    assert catalog.get("b", "a.txt").key == "a.txt"
    listed, _ = catalog.list("b", "", after=None, limit=10, include_deleted=False, now_s=0)
    assert [r.key for r in listed] == ["a.txt"]
    assert flaky.calls.count("put_item") == 4


def test_throttling_past_the_retries_is_a_storage_error(table):
    client, name = table
    catalog = DynamoFileCatalog(FlakyClient(client, throttle={"put_item": 100}), name)
    catalog._db.sleep = lambda s: None
    with pytest.raises(StorageError, match="throttling"):
        catalog.put(record("b.txt"))
    assert DynamoFileCatalog(client, name).get("b", "b.txt") is None


def test_missing_table_is_a_clear_storage_error(table):
    client, _ = table
    with pytest.raises(StorageError, match="does not exist"):
        DynamoFileCatalog(client, "no-such-table").get("b", "x")
