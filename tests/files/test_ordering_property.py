"""Property: any shuffle and duplication of a key's events ends in the record of in-order
delivery, and that record matches the bucket's final state."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.files.s3sim import Bucket
from weir.backends.sqlite.files import SqliteFileCatalog
from weir.files.service import FileIndexer

KEY = "docs/a b+ü.txt"

ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.binary(max_size=8)),
        st.tuples(st.just("delete"), st.none()),
        st.tuples(st.just("delete_version"), st.integers(0, 5)),
    ),
    min_size=1,
    max_size=12,
)


def run(bucket: Bucket, notifications: list[dict]):
    catalog = SqliteFileCatalog(":memory:")
    try:
        ix = FileIndexer(catalog, bucket, region="eu-west-1", clock_ns=lambda: 0)
        for n in notifications:
            report = ix.index_notification(n)
            assert report.failed == []
        return catalog.get(bucket.name, KEY)
    finally:
        catalog.close()


@settings(max_examples=150, deadline=None)
@given(versioned=st.booleans(), operations=ops, data=st.data())
def test_any_delivery_order_ends_in_the_in_order_record(versioned, operations, data):
    bucket = Bucket("b", versioned)
    events = []
    for op, arg in operations:
        e = (
            bucket.put(KEY, arg)
            if op == "put"
            else bucket.delete(KEY)
            if op == "delete"
            else bucket.delete_version(KEY, arg)
        )
        if e is not None:
            events.append(e)
    if not events:
        return
    delivered = data.draw(st.lists(st.sampled_from(events), min_size=0, max_size=2 * len(events)))
    delivered = data.draw(st.permutations(events + delivered))  # every event at least once, any order

    in_order = run(bucket, events)
    shuffled = run(bucket, delivered)
    assert shuffled == in_order

    current = bucket.current(KEY)
    if current is None:
        assert in_order.deleted
    else:
        assert not in_order.deleted and in_order.etag == current.etag and in_order.size == current.size
        if versioned:
            assert in_order.version_id == current.version_id
