"""Queries are bounded before they read a point (issue 18, bug 5): over a real SQLite store,
with small bounds so the tests stay small."""

from __future__ import annotations

import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import PayloadTooLargeError
from weir.metrics.ingest import IngestService
from weir.metrics.query.service import QueryBounds, QueryService, QueryTooLargeError
from weir.wire.json import ingest_json

T = (int(time.time()) // 3600 - 2) * 3600


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86_400)
    ingest_json(IngestService(s), __import__("json").dumps({"metrics": [
        {"name": "cpu", "value": float(k), "timestamp": T + k, "dimensions": {"host": f"h{i}", "dc": f"d{i % 2}"}}
        for i in range(20) for k in range(50)]}))
    yield s
    s.close()


def refuse_reads(store):
    def read(*args, **kwargs):
        raise AssertionError("the query read points before it was refused")

    store.read = read


def test_too_many_series_is_refused_before_any_is_loaded(store):
    svc = QueryService(store, bounds=QueryBounds(max_series=10))
    store.select = lambda *a, **k: pytest.fail("series were loaded")  # counting is enough
    refuse_reads(store)
    with pytest.raises(QueryTooLargeError, match="more than 10 series of 'cpu'; add dim") as err:
        svc.query("cpu", {"start": str(T), "end": str(T + 3600)})
    assert err.value.status == 422


def test_a_narrow_selection_passes_the_series_bound(store):
    svc = QueryService(store, bounds=QueryBounds(max_series=10))
    got = svc.query("cpu", {"start": str(T), "end": str(T + 3600), "period": "3600", "stat": "count",
                            "dim.dc": "d1"})
    assert [g.series for g in got.groups] == [10]


def test_too_many_points_is_refused_from_chunk_metadata_before_reading(store):
    store.flush()  # into chunks: the estimate reads their `n`, not their points
    svc = QueryService(store, bounds=QueryBounds(max_points=999))
    refuse_reads(store)
    with pytest.raises(PayloadTooLargeError, match="about 1000 points"):
        svc.query("cpu", {"start": str(T), "end": str(T + 3600)})
    store.flush()


def test_too_many_groups_and_too_large_an_answer(store):
    refuse_reads(store)
    with pytest.raises(QueryTooLargeError, match="group_by: 'host' has 20 values"):
        QueryService(store, bounds=QueryBounds(max_groups=19)).query(
            "cpu", {"start": str(T), "end": str(T + 3600), "group_by": "host"})
    with pytest.raises(QueryTooLargeError, match=r"240 values \(2 groups x 60 periods x 2 statistics\)"):
        QueryService(store, bounds=QueryBounds(max_values=239)).query(
            "cpu", {"start": str(T), "end": str(T + 3600), "group_by": "dc", "stat": "avg,max"})
