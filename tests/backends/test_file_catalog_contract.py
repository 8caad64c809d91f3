"""One contract for every FileCatalog backend: SQLite, and DynamoDB on a moto server."""

from __future__ import annotations

import itertools
import uuid

import boto3
import pytest

from tests.backends.aws.tables import create_files_table
from weir.backends.aws.files import DynamoFileCatalog
from weir.backends.sqlite.files import SqliteFileCatalog
from weir.errors import StorageError
from weir.files.record import CREATED, DELETED, FileRecord

NOW = 1_714_600_000
_seq = itertools.count(0x10)


def rec(key, *, bucket="b1", seq=None, state=CREATED, **kw) -> FileRecord:
    base = dict(
        bucket=bucket,
        key=key,
        state=state,
        sequencer=seq or f"{next(_seq):X}",
        event_name="ObjectCreated:Put" if state == CREATED else "ObjectRemoved:Delete",
        event_time="2024-05-01T12:00:00.000Z",
        processed_at="2024-05-01T12:00:01.000Z",
        region="eu-west-1",
    )
    if state == CREATED:
        base.update(size=3, etag="abc", storage_class="STANDARD", last_modified="2024-05-01T12:00:00.000Z")
    else:
        base.update(deleted_at="2024-05-01T12:00:00.000Z")
    base.update(kw)
    return FileRecord(**base)


@pytest.fixture(params=["sqlite", "dynamodb"])
def catalog(request, tmp_path, no_scan):
    if request.param == "sqlite":
        c = SqliteFileCatalog(tmp_path / "files.db")
    else:
        endpoint = request.getfixturevalue("moto_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="eu-west-1")
        no_scan(client)
        table = f"file-metadata-table-{uuid.uuid4().hex[:8]}"
        create_files_table(client, table)
        c = DynamoFileCatalog(client, table)
    yield c
    c.close()


def test_roundtrip_of_every_field(catalog):
    r = rec(
        "photos/été/café ☕.jpg",
        version_id="v1",
        content_type="image/jpeg",
        sse="aws:kms",
        kms_key_id="arn:aws:kms:eu-west-1:1:key/k",
        checksum={"SHA256": "q80="},
        user_metadata={"owner": "ana", "empty": ""},
        tag_count=0,
        size=0,
    )
    assert catalog.put(r) is True
    assert catalog.get("b1", r.key) == r
    assert catalog.get("b1", "missing") is None and catalog.get("other", r.key) is None


def test_only_a_greater_sequencer_replaces(catalog):
    assert catalog.put(rec("k", seq="FF", etag="first"))
    assert not catalog.put(rec("k", seq="FF", etag="duplicate"))
    assert not catalog.put(rec("k", seq="0FE", etag="older"))
    assert catalog.put(rec("k", seq="100", etag="newer"))  # longer, and greater once padded
    assert catalog.get("b1", "k").etag == "newer"
    assert catalog.put(rec("k", seq="00000101", state=DELETED))
    assert not catalog.put(rec("k", seq="100", etag="late redelivery"))
    assert catalog.get("b1", "k").deleted


def test_put_many_reports_each_record(catalog):
    catalog.put(rec("a", seq="50"))
    assert catalog.put_many([rec("a", seq="40"), rec("b", seq="41"), rec("a", seq="60")]) == [False, True, True]


def test_list_by_prefix_in_utf8_byte_order(catalog):
    keys = ["a/1", "a/2", "a/é", "a/z", "a/Z", "a/☕", "a/😀", "a0", "b/1", "a/sub/x"]
    for k in keys:
        catalog.put(rec(k))
    catalog.put(rec("a/3", bucket="b2"))
    items, nxt = catalog.list("b1", "a/", after=None, limit=100, include_deleted=False, now_s=NOW)
    expected = sorted((k for k in keys if k.startswith("a/")), key=lambda k: k.encode())
    assert [r.key for r in items] == expected and nxt is None
    items, _ = catalog.list("b1", "", after=None, limit=100, include_deleted=False, now_s=NOW)
    assert [r.key for r in items] == sorted(keys, key=lambda k: k.encode())


def test_pages_cover_every_key_once(catalog):
    keys = [f"p/{i:03d}" for i in range(23)]
    catalog.put_many([rec(k) for k in keys])
    catalog.put(rec("p/005", state=DELETED))
    seen, after = [], None
    for _ in range(20):
        items, after = catalog.list("b1", "p/", after=after, limit=4, include_deleted=False, now_s=NOW)
        assert len(items) <= 4
        seen += [r.key for r in items]
        if after is None:
            break
    assert seen == [k for k in keys if k != "p/005"]


def test_tombstones_on_request_and_expired_never(catalog):
    catalog.put(rec("t/live"))
    catalog.put(rec("t/gone", state=DELETED))
    catalog.put(rec("t/removed", state=DELETED, expires_at=NOW + 10))
    catalog.put(rec("t/expired", state=DELETED, expires_at=NOW - 1))

    def keys(include_deleted):
        items, _ = catalog.list("b1", "t/", after=None, limit=10, include_deleted=include_deleted, now_s=NOW)
        return [r.key for r in items]

    assert keys(False) == ["t/live"]
    assert keys(True) == ["t/gone", "t/live", "t/removed"]
    # an expired tombstone still refuses older states until it is physically dropped
    assert not catalog.put(rec("t/expired", seq="01"))


def test_after_a_key_outside_the_prefix(catalog):
    for k in ("m/1", "m/2"):
        catalog.put(rec(k))
    assert [r.key for r in catalog.list("b1", "m/", after="a", limit=5, include_deleted=False, now_s=NOW)[0]] == [
        "m/1",
        "m/2",
    ]
    assert catalog.list("b1", "m/", after="n", limit=5, include_deleted=False, now_s=NOW)[0] == []


def test_storage_failures_become_storage_errors(catalog, monkeypatch):
    if isinstance(catalog, SqliteFileCatalog):
        catalog.close()
    else:
        catalog.table = "no-such-table"
    with pytest.raises(StorageError):
        catalog.put(rec("x"))
