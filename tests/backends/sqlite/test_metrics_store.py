"""The SQLite metrics store: durability, flush/recovery, duplicates, retention."""

from __future__ import annotations

import sqlite3
import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import StorageError
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

NOW = int(time.time()) * NS
A = make_series("cpu", {"host": "a"}, "gauge", None)
B = make_series("cpu", {"host": "b"}, "gauge", None)


def batch(points, new=(A, B)):
    b = PointBatch(new_series=list(new))
    for s, t, v in points:
        b.series_ids.append(s.id)
        b.timestamps.append(t)
        b.values.append(v)
    return b


@pytest.fixture
def open_store(tmp_path):
    stores = []

    def make(**kw):
        kw.setdefault("retention_seconds", 86400)
        s = SqliteMetricStore(tmp_path / "m.db", **kw)
        stores.append(s)
        return s

    yield make
    for s in stores:
        try:
            s.close()
        except sqlite3.ProgrammingError:
            pass


def test_append_then_read_from_head_and_chunks(open_store):
    store = open_store()
    store.append(batch([(A, NOW + 2, 2.0), (A, NOW, 0.0), (B, NOW, 10.0)]))
    assert store.read([A.id], NOW, NOW + 10) == {A.id: ([NOW, NOW + 2], [0.0, 2.0])}
    store.flush()
    store.append(batch([(A, NOW + 1, 1.0)], new=()))
    got = store.read([A.id, B.id], NOW, NOW + 10)
    assert got[A.id] == ([NOW, NOW + 1, NOW + 2], [0.0, 1.0, 2.0])
    assert got[B.id] == ([NOW], [10.0])
    assert store.read([A.id], NOW + 1, NOW + 2) == {A.id: ([NOW + 1], [1.0])}


def test_same_instant_last_write_wins_across_flushes(open_store):
    store = open_store()
    store.append(batch([(A, NOW, 1.0)]))
    store.flush()
    store.append(batch([(A, NOW, 2.0)], new=()))
    assert store.read([A.id], NOW, NOW + 1)[A.id] == ([NOW], [2.0])
    store.flush()
    store.append(batch([(A, NOW, 3.0), (A, NOW, 4.0)], new=()))
    assert store.read([A.id], NOW, NOW + 1)[A.id] == ([NOW], [4.0])
    store.flush()
    assert store.read([A.id], NOW, NOW + 1)[A.id] == ([NOW], [4.0])


def test_series_index(open_store):
    store = open_store()
    other = make_series("mem", {}, "counter", "bytes")
    store.append(batch([(A, NOW, 1.0), (B, NOW, 1.0), (other, NOW, 1.0)], new=(A, B, other)))
    assert store.metric_names() == {"cpu": 2, "mem": 1}
    assert [s.key for s in store.series_of("cpu")] == [A.key, B.key]
    assert store.get_series(other.id) == other


def test_unflushed_points_survive_reopen_via_log(open_store, tmp_path):
    store = open_store()
    store.append(batch([(A, NOW, 1.0), (B, NOW, 2.0)]))
    # As after a crash: the folder is opened again while the points are only in the log
    # (the real kill -9 test is in tests/e2e). Release the lock as a dead process would.
    store._lockfile.close()  # noqa: SLF001
    reopened = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    try:
        assert reopened.read([A.id, B.id], NOW, NOW + 1) == {A.id: ([NOW], [1.0]), B.id: ([NOW], [2.0])}
        assert reopened.metric_names() == {"cpu": 2}
    finally:
        reopened.close()


def test_clean_close_flushes_the_log(open_store, tmp_path):
    store = open_store()
    store.append(batch([(A, NOW, 1.0)]))
    store.close()
    conn = sqlite3.connect(tmp_path / "m.db")
    assert conn.execute("SELECT count(*) FROM log").fetchone() == (0,)
    assert conn.execute("SELECT sum(n) FROM chunks").fetchone() == (1,)
    conn.close()


def test_retention_sweep_deletes_old_chunks_and_forgets_series(open_store):
    fake_now = [time.time()]
    store = open_store(retention_seconds=3600, minute_retention_seconds=3600, hour_retention_seconds=3600,
                       clock=lambda: fake_now[0])
    store.append(batch([(A, NOW, 1.0), (B, NOW + 48 * 3600 * NS, 2.0)]))
    store.flush()
    fake_now[0] += 26 * 3600  # hourly rollups go a whole UTC day at a time
    store.sweep()
    assert store.read([A.id], 0, NOW + 10 * 3600 * NS) == {}
    assert [s.id for s in store.series_of("cpu")] == [B.id]
    assert store.series_epoch == 1


def test_failed_commit_acknowledges_nothing(open_store, tmp_path):
    store = open_store()
    store.append(batch([(A, NOW, 1.0)]))
    # Make the log table unwritable from outside: the next commit must fail loudly.
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("CREATE TRIGGER no_log BEFORE INSERT ON log BEGIN SELECT RAISE(ABORT, 'disk says no'); END")
    conn.close()
    with pytest.raises(StorageError, match="disk says no"):
        store.append(batch([(A, NOW + 1, 2.0)], new=()))
    assert store.read([A.id], NOW, NOW + 10)[A.id] == ([NOW], [1.0])


def test_a_second_process_on_the_same_folder_is_refused(open_store):
    open_store()
    with pytest.raises(StorageError, match="in use by another Weir process"):
        open_store()


def test_a_log_that_cannot_be_recovered_is_a_problem_health_reports(tmp_path):
    """Recovery that meets a damaged log row stops the store: every call and `problem()`
    (what `/health` answers with, as a 503) name the file, the row and `weir repair`."""
    from weir.backends.sqlite import logrow, schema
    from weir.errors import DamagedDataError

    conn = schema.connect(str(tmp_path / "m.db"))
    schema.migrate(conn)
    row = logrow.pack(batch([(A, NOW, 1.0)]))
    conn.execute("INSERT INTO log (id, data) VALUES (1, ?)", (row[:-1],))  # a row cut short, as after a bad write
    conn.close()
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    try:
        with pytest.raises(DamagedDataError, match="write-ahead log row 1"):
            store.read([A.id], NOW, NOW + 1)
        assert "weir repair" in store.problem() and "m.db" in store.problem()
    finally:
        store.close()


def test_a_flush_in_slices_keeps_every_point_and_empties_the_log_at_the_end(tmp_path, monkeypatch):
    from weir.backends.sqlite import flush

    monkeypatch.setattr(flush, "FLUSH_SLICE", 2)  # 7 series: four transactions
    members = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(7)]
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    try:
        store.append(batch([(s, NOW - k * NS, float(k)) for s in members for k in range(3)], new=members))
        store.flush()
        got = store.read([s.id for s in members], NOW - 10 * NS, NOW + NS)
        assert all(got[s.id] == ([NOW - 2 * NS, NOW - NS, NOW], [2.0, 1.0, 0.0]) for s in members)
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "m.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM log").fetchone()[0] == 0
        assert conn.execute("SELECT COUNT(*), SUM(n) FROM chunks").fetchone() == (7, 21)


def test_chunks_a_crashed_flush_left_beside_their_log_rows_read_as_one_point_each(tmp_path):
    """A crash between two slices of a flush leaves chunk rows whose log rows were not deleted;
    the replay writes them again. Reads merge the duplicates away."""
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    store.append(batch([(A, NOW, 1.0), (B, NOW, 2.0)]))
    store.close()  # flushes: chunks, log emptied
    with sqlite3.connect(tmp_path / "m.db") as conn:  # as a crashed flush leaves it: chunks and log both
        conn.execute("INSERT INTO chunks (series_id, t_min, t_max, n, fmt, ts, vals) SELECT series_id, t_min, t_max, "
                     "n, fmt, ts, vals FROM chunks")
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    try:
        assert store.read([A.id, B.id], NOW - NS, NOW + NS) == {A.id: ([NOW], [1.0]), B.id: ([NOW], [2.0])}
        store.append(batch([(A, NOW, 5.0)], new=()))  # a later write of the same instant wins
        store.flush()
        assert store.read([A.id], NOW - NS, NOW + NS) == {A.id: ([NOW], [5.0])}
    finally:
        store.close()

