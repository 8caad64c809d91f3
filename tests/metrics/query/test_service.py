"""The query service's answer: each datapoint stamped with its period's start, whether every
(group, period) cell has points (the dense case, stamps shared by every group) or some are
empty; and the store's background work held back for the whole query (`store.querying`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import FakeClock
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.query.service import QueryService
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

T0 = 1_700_000_000 // 3600 * 3600  # seconds, an hour boundary
SERIES = [make_series("cpu", {"host": f"h{i}", "region": f"r{i % 2}"}, "gauge", None) for i in range(4)]


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=10 * 86400, clock=FakeClock(ns=(T0 + 7200) * NS))
    yield s
    s.close()


def write(store, points) -> None:
    b = PointBatch(new_series=list(SERIES))
    for s, t, v in points:
        b.series_ids.append(s.id)
        b.timestamps.append(t * NS)
        b.values.append(v)
    store.append(b)


def stamp(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@pytest.mark.parametrize("every", [10, 130])  # every period has points / some periods are empty
def test_datapoints_are_stamped_with_their_period_start(store, every):
    points = [(s, T0 + k, float(i * 1000 + k)) for i, s in enumerate(SERIES) for k in range(0, 3600, every)]
    write(store, points)
    svc = QueryService(store, 10 * 86400, lambda: T0 + 7200.0)
    r = svc.query("cpu", {"start": str(T0), "end": str(T0 + 3600), "period": "60", "stat": "count,max",
                          "group_by": "region"})
    assert [g.group["region"] for g in r.groups] == ["r0", "r1"]
    for g in r.groups:
        want: dict[int, list[float]] = {}
        for s in SERIES:
            if s.dimensions["region"] == g.group["region"]:
                for _, t, v in (p for p in points if p[0] is s):
                    want.setdefault((t - T0) // 60, []).append(v)
        assert [p["timestamp"] for p in g.datapoints] == [stamp(T0 + 60 * m) for m in sorted(want)]
        assert [(p["count"], p["max"]) for p in g.datapoints] == [(len(want[m]), max(want[m])) for m in sorted(want)]
    if every == 10:
        assert all(len(g.datapoints) == 60 for g in r.groups)
    else:
        assert all(len(g.datapoints) < 60 for g in r.groups)


def test_background_work_yields_for_the_whole_query(store, monkeypatch):
    """From its series selection on, not only while it reads points, a query counts as running."""
    write(store, [(SERIES[0], T0 + 10, 1.0)])
    svc = QueryService(store, 10 * 86400, lambda: T0 + 7200.0)
    seen = []
    real = store.select

    def select(*a, **kw):
        seen.append(store._queries)
        return real(*a, **kw)

    monkeypatch.setattr(store, "select", select)
    svc.query("cpu", {"start": str(T0), "end": str(T0 + 3600), "period": "60", "dim.host": "h0"})
    assert seen and all(n >= 1 for n in seen)
    assert store._queries == 0
