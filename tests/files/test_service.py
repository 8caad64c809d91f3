"""FileIndexer and FileQuery over the SQLite catalog, with the S3 bucket simulator."""

from __future__ import annotations

import pytest

from tests.files.events import load
from weir.backends.sqlite.files import SqliteFileCatalog
from weir.errors import InvalidInputError, NotFoundError, StorageError
from weir.files.record import ObjectHead
from weir.files.service import FileIndexer, FileQuery

NOW_NS = 1_714_600_000_000_000_000


class Heads:
    """An object source answering from a dict: (key, version) → ObjectHead."""

    def __init__(self, heads=None, fail=()):
        self.heads = heads or {}
        self.fail = set(fail)
        self.calls = []

    def head(self, bucket, key, version_id=None):
        self.calls.append((bucket, key, version_id))
        if key in self.fail:
            raise StorageError(f"HeadObject s3://{bucket}/{key} failed: SlowDown")
        return self.heads.get((key, version_id))


@pytest.fixture
def catalog():
    c = SqliteFileCatalog(":memory:")
    yield c
    c.close()


def indexer(catalog, source, **kw):
    return FileIndexer(catalog, source, region="eu-central-1", clock_ns=lambda: NOW_NS, **kw)


def test_created_records_take_head_metadata(catalog):
    head = ObjectHead(
        size=52431,
        etag="9b2cf535f27731c974343645a3985328",
        content_type="application/pdf",
        last_modified="2024-05-01T12:00:00.000Z",
        storage_class="STANDARD_IA",
        sse="aws:kms",
        kms_key_id="arn:aws:kms:eu-west-1:123456789012:key/abc",
        checksum={"SHA256": "x"},
        user_metadata={"owner": "ana"},
        tag_count=2,
    )
    src = Heads({("reports/Q1 2024/summary+final.pdf", None): head})
    report = indexer(catalog, src).index_notification(load("put_keys_encoded.json"))
    assert report.stored == 3 and report.failed == []
    r = catalog.get("weir-files-dev", "reports/Q1 2024/summary+final.pdf")
    assert (r.size, r.content_type, r.storage_class, r.sse, r.tag_count) == (
        52431,
        "application/pdf",
        "STANDARD_IA",
        "aws:kms",
        2,
    )
    assert r.user_metadata == {"owner": "ana"} and r.checksum == {"SHA256": "x"}
    assert r.region == "eu-west-1"  # the event's region wins over the function's
    assert r.event_name == "ObjectCreated:Put" and r.sequencer == "0062A1B2C3D4E5F601"
    assert r.processed_at == "2024-05-01T21:46:40.000Z"
    # HEAD found nothing for the others: the record is the event's own facts
    other = catalog.get("weir-files-dev", "photos/été/café ☕.jpg")
    assert other.size == 1048576 and other.content_type is None and other.last_modified == "2024-05-01T12:00:01.000Z"


def test_unversioned_head_of_a_newer_object_is_not_mixed_in(catalog):
    newer = ObjectHead(size=1, etag="ffffffffffffffffffffffffffffffff", content_type="text/plain")
    src = Heads({("reports/Q1 2024/summary+final.pdf", None): newer})
    indexer(catalog, src).index_notification(load("put_keys_encoded.json"))
    r = catalog.get("weir-files-dev", "reports/Q1 2024/summary+final.pdf")
    assert (r.size, r.etag, r.content_type) == (52431, "9b2cf535f27731c974343645a3985328", None)


def test_versioned_put_heads_its_own_version(catalog):
    vid = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
    src = Heads({("docs/plan.md", vid): ObjectHead(size=12, etag="c1a5298f939e87e8f962a5edfc206918", version_id=vid)})
    indexer(catalog, src).index_notification(load("versioned_put.json"))
    assert src.calls == [("weir-files-versioned", "docs/plan.md", vid)]
    assert catalog.get("weir-files-versioned", "docs/plan.md").version_id == vid


def test_delete_marker_then_permanent_delete_restores_previous_version(catalog):
    vid = "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"
    current = ObjectHead(size=12, etag="c1a5298f939e87e8f962a5edfc206918", version_id=vid)
    src = Heads({("docs/plan.md", vid): current})
    ix = indexer(catalog, src)
    ix.index_notification(load("versioned_put.json"))
    ix.index_notification(load("delete_marker.json"))
    r = catalog.get("weir-files-versioned", "docs/plan.md")
    assert (
        r.deleted
        and r.deleted_at == "2024-06-01T09:00:00.000Z"
        and r.version_id == "QUpfdndhfd8438MNFDN93jdnJFkdmqnh893"
    )
    # removing the delete marker for good makes the put version current again
    src.heads[("docs/plan.md", None)] = current
    ix.index_notification(load("delete_version.json"))
    r = catalog.get("weir-files-versioned", "docs/plan.md")
    assert not r.deleted and r.version_id == vid and r.event_name == "ObjectRemoved:Delete"


def test_permanent_delete_of_the_last_version_is_a_tombstone(catalog):
    indexer(catalog, Heads()).index_notification(load("delete_version.json"))
    assert catalog.get("weir-files-versioned", "docs/plan.md").deleted


def test_duplicates_and_older_events_are_skipped(catalog):
    ix = indexer(catalog, Heads())
    ix.index_notification(load("delete_unversioned.json"))
    report = ix.index_notification(load("put_keys_encoded.json"))  # older put of the same key
    assert (report.stored, report.skipped) == (2, 1)
    assert catalog.get("weir-files-dev", "reports/Q1 2024/summary+final.pdf").deleted
    again = ix.index_notification(load("delete_unversioned.json"))
    assert (again.stored, again.skipped) == (0, 1)


def test_a_failing_head_fails_its_record_only(catalog):
    src = Heads(fail={"photos/été/café ☕.jpg"})
    report = indexer(catalog, src).index_notification(load("put_keys_encoded.json"))
    assert report.stored == 2 and len(report.failed) == 1
    f = report.failed[0]
    assert f.index == 1 and f.key == "photos/été/café ☕.jpg" and "SlowDown" in f.error


def test_remove_mode_hides_at_once_and_expires_later(catalog):
    ix = indexer(catalog, Heads(), deletion="remove", tombstone_ttl_s=3600)
    ix.index_notification(load("put_keys_encoded.json"))
    ix.index_notification(load("delete_unversioned.json"))
    r = catalog.get("weir-files-dev", "reports/Q1 2024/summary+final.pdf")
    assert r.expires_at == NOW_NS // 10**9 + 3600
    q = FileQuery(catalog, bucket="weir-files-dev", clock_ns=lambda: NOW_NS)
    with pytest.raises(NotFoundError, match="was deleted"):
        q.get("reports/Q1 2024/summary+final.pdf", {})
    assert q.get("reports/Q1 2024/summary+final.pdf", {"include_deleted": "true"}).deleted
    later = FileQuery(catalog, bucket="weir-files-dev", clock_ns=lambda: NOW_NS + 3601 * 10**9)
    with pytest.raises(NotFoundError, match="no file"):
        later.get("reports/Q1 2024/summary+final.pdf", {"include_deleted": "true"})
    assert catalog.purge_expired(NOW_NS // 10**9 + 3601) == 1


def test_unknown_deletion_mode_is_refused(catalog):
    with pytest.raises(InvalidInputError, match="deletion mode"):
        indexer(catalog, Heads(), deletion="shred")


def test_query_lists_pages_and_checks_parameters(catalog):
    ix = indexer(catalog, Heads())
    ix.index_notification(load("put_keys_encoded.json"))
    ix.index_notification(load("batch_mixed.json"))
    ix.index_notification(load("delete_unversioned.json"))
    q = FileQuery(catalog, bucket="weir-files-dev", clock_ns=lambda: NOW_NS)
    assert [f.key for f in q.list({"prefix": "a/"}).files] == ["a/big.iso", "a/copy.bin", "a/form.txt"]
    keys, cursor = [], None
    while True:
        page = q.list({"limit": "2", **({"cursor": cursor} if cursor else {})})
        keys += [f.key for f in page.files]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert keys == ["100% done?.txt", "a/big.iso", "a/copy.bin", "a/form.txt", "photos/été/café ☕.jpg"]
    assert len(q.list({"include_deleted": "true"}).files) == 6
    for params, fragment in [
        ({"limit": "0"}, "between"),
        ({"limit": "x"}, "integer"),
        ({"cursor": "%%%"}, "cursor"),
        ({"include_deleted": "maybe"}, "true or false"),
        ({"prefx": "a"}, "unknown"),
    ]:
        with pytest.raises(InvalidInputError, match=fragment):
            q.list(params)


def _put_keys(catalog, keys, deleted=()):
    from weir.files.record import FileRecord

    for i, key in enumerate(keys):
        state = "deleted" if key in deleted else "created"
        catalog.put(FileRecord(bucket="b", key=key, state=state, sequencer=f"{i + 1:08X}",
                               event_name="ObjectCreated:Put", event_time="2024-05-01T00:00:00.000Z",
                               processed_at="2024-05-01T00:00:00.000Z", size=1))


def _grouped_reference(keys, prefix, delimiter):
    """What S3 lists with a delimiter: direct keys and each common prefix once, in byte order."""
    entries = set()
    for k in keys:
        if not k.startswith(prefix):
            continue
        cut = k.find(delimiter, len(prefix))
        entries.add(("p", k[: cut + len(delimiter)]) if cut >= 0 else ("f", k))
    return sorted(entries, key=lambda e: e[1].encode())


@pytest.mark.parametrize("limit", ["1", "2", "3", "1000"])
@pytest.mark.parametrize("prefix", ["", "a/", "a/b", "zz/"])
def test_delimiter_lists_folders_once_across_pages(catalog, prefix, limit):
    keys = ["top.txt", "a/1", "a/2", "a/b/x", "a/b/y/z", "a/bc", "a/c/d", "a/é/1", "a/é/2", "a!", "b/1", "zz/q",
            "a/b/\U0010fffe"]
    _put_keys(catalog, keys)
    q = FileQuery(catalog, bucket="b", clock_ns=lambda: NOW_NS)
    got, cursor = [], None
    for _ in range(100):
        page = q.list({"prefix": prefix, "delimiter": "/", "limit": limit, **({"cursor": cursor} if cursor else {})})
        assert len(page.files) + len(page.prefixes) <= int(limit)
        got += [("f", f.key) for f in page.files] + [("p", p) for p in page.prefixes]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sorted(got, key=lambda e: e[1].encode()) == _grouped_reference(keys, prefix, "/")
    assert len(got) == len(set(got))


def test_delimiter_hides_tombstones_unless_asked_and_is_bounded(catalog):
    _put_keys(catalog, ["d/gone.txt", "d/kept.txt", "only-gone/x"], deleted={"d/gone.txt", "only-gone/x"})
    q = FileQuery(catalog, bucket="b", clock_ns=lambda: NOW_NS)
    assert q.list({"delimiter": "/"}).prefixes == ["d/"]
    assert q.list({"delimiter": "/", "include_deleted": "true"}).prefixes == ["d/", "only-gone/"]
    assert [f.key for f in q.list({"prefix": "d/", "delimiter": "/", "include_deleted": "true"}).files] == [
        "d/gone.txt", "d/kept.txt"]
    with pytest.raises(InvalidInputError, match="delimiter"):
        q.list({"delimiter": "/" * 17})


def test_delimiter_page_stops_after_its_call_budget_and_continues(catalog):
    from weir.files.service import MAX_GROUP_CALLS

    folders = [f"f{i:03d}/" for i in range(MAX_GROUP_CALLS + 50)]
    _put_keys(catalog, [f + "x" for f in folders])
    q = FileQuery(catalog, bucket="b", clock_ns=lambda: NOW_NS)
    first = q.list({"delimiter": "/", "limit": "1000"})
    assert len(first.prefixes) == MAX_GROUP_CALLS and first.next_cursor
    rest = q.list({"delimiter": "/", "limit": "1000", "cursor": first.next_cursor})
    assert first.prefixes + rest.prefixes == folders and rest.next_cursor is None
