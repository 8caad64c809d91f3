"""Reads bounded by a point limit: refused from the chunks' point counts before any value is
decoded, and never refused for points outside the window (a chunk across an edge is
counted by its timestamps)."""

from __future__ import annotations

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import TooManyPointsError
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

HOUR = 3600 * NS
T0 = (1_790_000_000 * NS) // HOUR * HOUR  # an hour boundary in the past
SERIES = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(3)]


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=10**9)
    b = PointBatch(new_series=list(SERIES))
    for s_ in SERIES:  # two hours at 10 s: 720 points a series, in two chunks
        for k in range(720):
            b.series_ids.append(s_.id)
            b.timestamps.append(T0 + k * 10 * NS)
            b.values.append(float(k % 7))
    s.append(b)
    s.flush()
    yield s
    s.close()


def ids():
    return [s.id for s in SERIES]


def test_a_read_within_its_limit_returns_every_point(store):
    got = store.read_arrays(ids(), T0, T0 + 2 * HOUR, limit=3 * 720)
    assert got.points == 3 * 720


def test_a_read_over_its_limit_is_refused_before_decoding(store, monkeypatch):
    from weir.metrics.encoding import bulk

    def no_decoding(*_a, **_k):
        raise AssertionError("values decoded before the limit was checked")

    monkeypatch.setattr(bulk, "decode_many", no_decoding)
    with pytest.raises(TooManyPointsError) as err:
        store.read_arrays(ids(), T0, T0 + 2 * HOUR, limit=3 * 720 - 1)
    assert err.value.limit == 3 * 720 - 1 and err.value.points == 3 * 720


@pytest.mark.parametrize("first, last", [(5, 65), (355, 365), (700, 720), (0, 1)])
def test_points_outside_the_window_never_count(store, first, last):
    """The window cuts the hour chunks: only the points inside count against the limit."""
    start, end = T0 + first * 10 * NS, T0 + last * 10 * NS
    n = 3 * (last - first)
    assert store.read_arrays(ids(), start, end, limit=n).points == n
    with pytest.raises(TooManyPointsError):
        store.read_arrays(ids(), start, end, limit=n - 1)


def test_points_in_the_head_count_too(store):
    b = PointBatch()
    for s_ in SERIES:
        b.series_ids.append(s_.id)
        b.timestamps.append(T0 + 2 * HOUR + 5 * NS)
        b.values.append(1.0)
    store.append(b)  # in memory: not flushed
    assert store.read_arrays(ids(), T0, T0 + 3 * HOUR, limit=3 * 721).points == 3 * 721
    with pytest.raises(TooManyPointsError):
        store.read_arrays(ids(), T0, T0 + 3 * HOUR, limit=3 * 721 - 1)
