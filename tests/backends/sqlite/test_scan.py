"""`scan`: every point of every series in a window, from chunks and the head, at a cost
that follows the window's data; and the hour-bounded chunks (schema 2) that make it so."""

from __future__ import annotations

import sqlite3

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.backends.sqlite.reader import SqliteMetricReader
from weir.errors import NotFoundError
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

H = 3600 * NS
T0 = 1_790_000_000 // 3600 * H  # an hour boundary in 2026
DAY = 24 * H


def open_store(tmp_path, **kw) -> SqliteMetricStore:
    return SqliteMetricStore(tmp_path / "metrics.db", retention_seconds=10 * 365 * 86400,
                             clock=lambda: (T0 + 400 * DAY) / NS, **kw)


def series(i: int):
    return make_series("cpu", {"host": f"h{i}"}, "gauge", None)


def write(store, points, known: set[int] | None = None) -> None:
    """points: (series index, t, value)."""
    batch = PointBatch()
    known = known if known is not None else set()
    for i, t, v in points:
        s = series(i)
        if s.id not in known:
            batch.new_series.append(s)
            known.add(s.id)
        batch.series_ids.append(s.id)
        batch.timestamps.append(t)
        batch.values.append(v)
    store.append(batch)


def as_dict(scan):
    return {s.key: (ts, vals) for s, ts, vals in scan}


def test_scan_merges_chunks_and_head_and_trims_to_the_window(tmp_path):
    store = open_store(tmp_path)
    known: set[int] = set()
    write(store, [(0, T0 - 10 * NS, 1.0), (0, T0, 2.0), (0, T0 + 30 * NS, 3.0), (1, T0 + H - 1, 4.0)], known)
    store.flush()
    write(store, [(0, T0 + 60 * NS, 5.0), (1, T0 + H, 6.0), (0, T0 + 30 * NS, 3.5)], known)  # head; 3.5 overwrites
    got = as_dict(store.scan(T0, T0 + H))
    assert got == {
        series(0).key: ([T0, T0 + 30 * NS, T0 + 60 * NS], [2.0, 3.5, 5.0]),
        series(1).key: ([T0 + H - 1], [4.0]),
    }
    ids = [s.id for s, _, _ in store.scan(T0 - H, T0 + 2 * H)]
    assert ids == sorted(ids)
    assert list(store.scan(T0 + 5 * H, T0 + 6 * H)) == []
    store.close()


def test_scan_equals_read_for_every_series(tmp_path):
    store = open_store(tmp_path, flush_points=500)
    known: set[int] = set()
    pts = [(i % 7, T0 + (i * 7919 % 7200) * NS, float(i)) for i in range(3000)]
    for k in range(0, len(pts), 300):
        write(store, pts[k : k + 300], known)
    for start, end in [(T0, T0 + H), (T0 + H, T0 + 2 * H), (T0 + 123 * NS, T0 + 4567 * NS)]:
        got = as_dict(store.scan(start, end))
        want = store.read([series(i).id for i in range(7)], start, end)
        assert got == {series(i).key: want[series(i).id] for i in range(7) if series(i).id in want}
    store.close()


def test_flush_never_writes_a_chunk_across_an_hour(tmp_path):
    store = open_store(tmp_path)
    write(store, [(0, T0 - H + k * 600 * NS, float(k)) for k in range(30)])  # 5 hours, one chunk before schema 2
    store.flush()
    rows = store._r.execute("SELECT t_min, t_max, n FROM chunks ORDER BY t_min").fetchall()
    assert len(rows) == 5 and sum(r[2] for r in rows) == 30
    assert all(t_min // H == t_max // H for t_min, t_max, _ in rows)
    store.close()


def test_scan_uses_a_bounded_range_of_the_time_index(tmp_path):
    store = open_store(tmp_path)
    plan = " ".join(r[-1] for r in store._r.execute("EXPLAIN QUERY PLAN " + store_scan_sql(), (0, 1, 1)))
    assert "chunks_age (t_max>? AND t_max<?)" in plan, plan
    store.close()


def store_scan_sql() -> str:
    from weir.backends.sqlite.chunks import SCAN_SQL

    return SCAN_SQL


def test_scan_cost_does_not_grow_with_newer_or_older_data(tmp_path):
    """Count SQLite VM steps of one hour's scan with 2 days, then 20 days, of other data around it."""
    store = open_store(tmp_path)
    known: set[int] = set()

    def add_days(first_day: int, days: int) -> None:
        for d in range(first_day, first_day + days):
            for h in range(24):
                base = T0 + d * DAY + h * H
                write(store, [(i, base + k * 60 * NS, 1.0) for i in range(20) for k in range(60)], known)
            store.flush()

    def steps() -> int:
        count = [0]

        def tick():
            count[0] += 1
            return 0

        store._r.set_progress_handler(tick, 1)
        try:
            n = sum(len(ts) for _, ts, _ in store.scan(T0 + 2 * H, T0 + 3 * H))
        finally:
            store._r.set_progress_handler(None, 1)
        assert n == 20 * 60
        return count[0]

    add_days(0, 1)  # the hour itself
    add_days(1, 1)
    add_days(-1, 1)
    small = steps()
    add_days(2, 9)
    add_days(-10, 9)
    large = steps()
    assert large <= small * 1.05, (small, large)
    store.close()


def test_reader_sees_chunks_and_unflushed_log_of_an_open_store(tmp_path):
    store = open_store(tmp_path)
    known: set[int] = set()
    write(store, [(0, T0 + 10 * NS, 1.0), (1, T0 + 20 * NS, 2.0)], known)
    store.flush()
    write(store, [(0, T0 + 30 * NS, 3.0), (0, T0 + 10 * NS, 1.5), (2, T0 + 2 * H, 9.0)], known)  # only in log + head
    reader = SqliteMetricReader(tmp_path / "metrics.db")
    assert as_dict(reader.scan(T0, T0 + H)) == as_dict(store.scan(T0, T0 + H)) == {
        series(0).key: ([T0 + 10 * NS, T0 + 30 * NS], [1.5, 3.0]),
        series(1).key: ([T0 + 20 * NS], [2.0]),
    }
    reader.close()
    # the reader wrote nothing: the log is still the server's to flush
    assert store._r.execute("SELECT count(*) FROM log").fetchone()[0] == 1
    store.close()


def test_reader_refuses_a_missing_database(tmp_path):
    with pytest.raises(NotFoundError, match="--data-dir"):
        SqliteMetricReader(tmp_path / "nope.db")
    assert not (tmp_path / "nope.db").exists()


def test_reader_is_read_only(tmp_path):
    open_store(tmp_path).close()
    reader = SqliteMetricReader(tmp_path / "metrics.db")
    with pytest.raises(sqlite3.OperationalError):
        reader._conn.execute("DELETE FROM chunks")
    reader.close()
