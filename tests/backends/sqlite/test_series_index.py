"""The SQLite series index: in the database, filled in for a data folder of an older Weir."""

from __future__ import annotations

import sqlite3
import time

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

NOW = int(time.time()) * NS


def test_a_data_folder_without_the_labels_table_gets_it_filled(tmp_path):
    members = [make_series("cpu", {"host": f"h{i}", "dc": f"d{i % 2}"}, "gauge", None) for i in range(10)]
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86_400)
    store.append(PointBatch([s.id for s in members], [NOW] * 10, [1.0] * 10, members))
    store.close()
    with sqlite3.connect(tmp_path / "m.db") as conn:  # as an older Weir left it
        conn.execute("DROP TABLE labels")
        conn.execute("DELETE FROM meta WHERE key = 'labels_index'")
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86_400)
    try:
        assert store.select("cpu", {"host": "h3"}) == [members[3]]
        assert len(store.select("cpu", {"dc": "d1"})) == 5
        assert store.metric_names() == {"cpu": 10}
    finally:
        store.close()


def test_start_up_reads_no_series_row(tmp_path):
    """Series are read on demand: the in-memory cache starts empty, whatever the folder holds."""
    members = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(100)]
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86_400)
    store.append(PointBatch([s.id for s in members], [NOW] * 100, [1.0] * 100, members))
    store.close()
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86_400)
    try:
        assert len(store.index._cache) == 0
        assert store.metric_names() == {"cpu": 100}
        assert store.get_series(members[42].id) == members[42]
    finally:
        store.close()
