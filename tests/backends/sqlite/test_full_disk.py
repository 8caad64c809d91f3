"""A full disk is reported as a full disk (issue 18, bug 9).

SQLite rolls a transaction back by itself when a write fails with SQLITE_FULL; an
explicit ROLLBACK after that raised "cannot rollback - no transaction is active" and that
message replaced "database or disk is full". `PRAGMA max_page_count` on the store's own
connection makes the file full at once: failure injection, on every platform (the e2e test
tests/e2e/test_full_disk.py fills a real tmpfs where the machine allows it).
"""

from __future__ import annotations

import logging
import random
import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.backends.sqlite.pushgroups import SqlitePushGroupStore
from weir.errors import StorageError
from weir.metrics.ports import PointBatch, PushGroup
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

NOW = int(time.time()) * NS


def fill(conn) -> None:
    """No page may be added to this connection's database from now on."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")


def test_push_group_on_a_full_disk_says_the_disk_is_full(tmp_path):
    store = SqlitePushGroupStore(tmp_path / "pushgroups.db")
    try:
        fill(store._db)
        members = {f"family_{i}": [f"key_{i}_{j}" * 20 for j in range(50)] for i in range(20)}
        with pytest.raises(StorageError) as caught:
            store.record(PushGroup('{job="j"}', {"job": "j"}, 1, "PUT", members), replace_all=True)
        assert "full" in caught.value.message, caught.value.message
        assert "cannot rollback" not in caught.value.message
        store._db.execute("PRAGMA max_page_count = 1000000")  # space again: the store still works
        store.record(PushGroup('{job="j"}', {"job": "j"}, 1, "PUT", {"a": ["b"]}), replace_all=True)
        assert [g.members for g in store.groups()] == [{"a": ["b"]}]
    finally:
        store.close()


def test_flush_on_a_full_disk_says_so_and_keeps_the_points(tmp_path, caplog):
    series = make_series("disk", {"host": "a"}, "gauge", None)
    store = SqliteMetricStore(tmp_path / "metrics.db", retention_seconds=86400)
    n = 20_000
    rng = random.Random(9)  # irregular times and random values: chunks that do not compress away
    stamps = sorted(NOW - i * NS - rng.randrange(NS) for i in range(n))
    store.append(PointBatch([series.id] * n, stamps, [rng.random() for _ in range(n)], [series]))
    fill(store._w)
    with pytest.raises(StorageError) as caught:
        store.flush()
    assert "full" in caught.value.message and "cannot rollback" not in caught.value.message
    assert "nothing of this request" not in caught.value.message  # a flush is no request
    with caplog.at_level(logging.ERROR):
        store.close()  # the last flush fails too: said in the log, not raised, nothing lost
    said = " ".join(r.getMessage() for r in caplog.records)
    assert "full" in said and "cannot rollback" not in said
    store = SqliteMetricStore(tmp_path / "metrics.db", retention_seconds=86400)
    try:
        got = store.read([series.id], NOW - (n + 1) * NS, NOW + 1)
        assert len(got[series.id][0]) == n
    finally:
        store.close()
