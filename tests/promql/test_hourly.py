"""`*_over_time` over whole hours from hourly records (`weir.promql.hourly`).

- Against a real Prometheus: the differential dataset in a store whose hours are all
  finalised, hour-aligned windows asked of both (the records answer most of them; the
  mixed-sign series fall back to the points).
- Against Weir's own point-by-point path, on random data: finalised hours, late writes
  that re-open an hour, points still in memory, points on hour boundaries, two points in
  one millisecond, values that cancel; every answer the same as with the records path off.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FakeClock
from tests.promql import differential as d
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.promql import hourly
from weir.promql.engine import Engine
from weir.promql.source import StoreSource

HOUR_MS = hourly.HOUR_MS
FUNCS = sorted(hourly.FUNCTIONS)


class Spy:
    """Counts the windows the records answered (not None), for asserting the path is taken."""

    def __init__(self, monkeypatch) -> None:
        self.answered = 0
        real = hourly.windows

        def spy(*args):
            got = real(*args)
            self.answered += got is not None
            return got

        monkeypatch.setattr(hourly, "windows", spy)


def points_only(monkeypatch) -> None:
    monkeypatch.setattr(hourly, "evaluate", lambda *a: None)


# -- against Prometheus ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def finalised_peers(tmp_path_factory):
    specs = d.dataset()
    folder = tmp_path_factory.mktemp("promql-hourly")
    prometheus = d.PrometheusPeer(folder, specs)
    prometheus.start()
    store = d.weir_store(folder / "weir" / "metrics.db", specs, (d.T0 + d.SPAN + 2 * HOUR_MS) / 1000,
                         finalise_grace_seconds=0)
    store.flush()
    store.finalise()
    try:
        yield prometheus, Engine(StoreSource(store))
    finally:
        prometheus.stop()
        store.close()


SELECTORS = ["cpu_usage", "temp_celsius", "ratio", "requests_total", '{__name__=~".+"}']
PROM_CORPUS = [f"{fn}({sel}[{r}])" for fn in FUNCS for sel in SELECTORS for r in ("1h", "2h")] + [
    "avg by (region) (avg_over_time(cpu_usage[1h]))",
    "max_over_time(cpu_usage[1h] offset 1h)",
    "sum_over_time(requests_total[1h] @ 7200)",
    "count_over_time(up[1h] offset -1h)",
    "min_over_time(temp_celsius[3h])",
]


@pytest.mark.parametrize("query", PROM_CORPUS)
def test_whole_hour_windows_answer_as_prometheus(finalised_peers, query, monkeypatch):
    prometheus, engine = finalised_peers
    problems = []
    for start, end, step in [(d.T0 + HOUR_MS, d.T0 + d.SPAN, HOUR_MS), (d.T0, d.T0 + 4 * HOUR_MS, 2 * HOUR_MS),
                             (d.T0 + 2 * HOUR_MS, d.T0 + 2 * HOUR_MS, HOUR_MS)]:
        params = {"query": query.replace("@ 7200", f"@ {(d.T0 + 2 * HOUR_MS) // 1000}"),
                  "start": d.seconds(start), "end": d.seconds(end), "step": f"{step / 1000:g}"}
        prom = prometheus.query("/api/v1/query_range", params)
        weir = d.weir_answer(engine.range, params["query"], start, end, step)
        problems += [f"range {params['start']}..{params['end']}/{step}: {p}" for p in d.compare(prom, weir)]
    assert not problems, "\n".join(problems[:12])


def test_the_records_answer_the_clean_series(finalised_peers, monkeypatch):
    """Guard against a vacuous comparison: the records path is taken for the gauges (and
    refused for the series whose values change sign, which the points answer)."""
    _, engine = finalised_peers
    spy = Spy(monkeypatch)
    engine.range("avg_over_time(cpu_usage[1h])", d.T0 + HOUR_MS, d.T0 + d.SPAN, HOUR_MS)
    assert spy.answered == 1
    engine.range("sum_over_time(temp_celsius[1h])", d.T0 + HOUR_MS, d.T0 + d.SPAN, HOUR_MS)
    assert spy.answered == 1  # mixed signs: the points answered
    engine.range("max_over_time(temp_celsius[1h])", d.T0 + HOUR_MS, d.T0 + d.SPAN, HOUR_MS)
    assert spy.answered == 2  # min and max are exact whatever the signs


# -- against the points, on random data ----------------------------------------------------------

T0_NS = 1_700_000_000 // 3600 * 3600 * 1_000_000_000
SERIES = [make_series("g", {"host": f"h{i}"}, "gauge", None) for i in range(3)]
SECOND = 1_000_000_000

# (series, time in ns from T0 over 6 hours, value); times favour hour boundaries and
# sub-millisecond offsets, values favour small integers (sums that cancel exactly or not)
offsets = st.one_of(
    st.integers(0, 6 * 3600 - 1).map(lambda s: s * SECOND),
    st.integers(0, 6).map(lambda h: h * 3600 * SECOND),
    st.integers(0, 6).map(lambda h: h * 3600 * SECOND + 500_000),
    st.integers(0, 6 * 3600 * 1000 - 1).map(lambda ms: ms * 1_000_000 + 1),
)
values = st.one_of(st.integers(-3, 9).map(float), st.floats(0, 1e6, allow_nan=False, allow_infinity=False),
                   st.sampled_from([math.inf, -math.inf, -0.0]))
point = st.tuples(st.integers(0, 2), offsets, values)


def write(store, points, new=()) -> None:
    b = PointBatch(new_series=list(new))
    for i, t, v in points:
        b.series_ids.append(SERIES[i].id)
        b.timestamps.append(T0_NS + t)
        b.values.append(v)
    store.append(b)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(finalised=st.lists(point, min_size=1, max_size=60), late=st.lists(point, max_size=6),
       memory=st.lists(point, max_size=6), fn=st.sampled_from(FUNCS), span=st.integers(1, 3),
       step=st.sampled_from([1, 2]), offset=st.integers(-1, 1))
def test_records_answer_as_the_points_do(finalised, late, memory, fn, span, step, offset):
    clock = FakeClock(T0_NS / 1e9 + 8 * 3600)
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteMetricStore(Path(tmp) / "m.db", retention_seconds=30 * 86400, finalise_grace_seconds=0,
                                  clock=clock)
        try:
            write(store, finalised, SERIES)
            store.flush()
            store.finalise()
            write(store, late)
            store.flush()  # a late write re-opens its hour: pending until finalised again
            write(store, memory)  # still in memory
            engine = Engine(StoreSource(store))
            query = f"{fn}(g[{span}h]{f' offset {offset}h' if offset else ''})"
            start_ms = T0_NS // 1_000_000 + span * HOUR_MS
            args = (query, start_ms, start_ms + 6 * HOUR_MS, step * HOUR_MS)
            got = d.weir_answer(engine.range, *args)
            real = hourly.evaluate
            hourly.evaluate = lambda *a: None
            try:
                want = d.weir_answer(engine.range, *args)
            finally:
                hourly.evaluate = real
        finally:
            store.close()
    assert not d.compare(want, got), d.compare(want, got)[:5]


def open_finalised(tmp: Path, points) -> SqliteMetricStore:
    store = SqliteMetricStore(tmp / "m.db", retention_seconds=30 * 86400, finalise_grace_seconds=0,
                              clock=FakeClock(T0_NS / 1e9 + 8 * 3600))
    write(store, points, SERIES)
    store.flush()
    store.finalise()
    return store


def test_two_points_in_one_millisecond_are_read_as_points(tmp_path, monkeypatch):
    """PromQL keeps the later of two points in one millisecond; an hourly record counts both,
    so the store declines and the points answer (one sample, the later value)."""
    store = open_finalised(tmp_path, [(0, 10 * SECOND, 1.0), (0, 10 * SECOND + 1, 5.0), (0, 20 * SECOND, 2.0)])
    try:
        spy = Spy(monkeypatch)
        start = T0_NS // 1_000_000 + HOUR_MS
        got = Engine(StoreSource(store)).range('count_over_time(g{host="h0"}[1h])', start, start, HOUR_MS)
        assert got.result[0]["values"] == [[start / 1000, "2"]] and spy.answered == 0
        assert store.read_hours([SERIES[0].id], T0_NS, T0_NS + 2 * 3600 * SECOND) is None
    finally:
        store.close()


def test_an_hour_finalised_before_schema_4_is_read_as_points(tmp_path, monkeypatch):
    """No first record for a finalised hour (an older Weir finalised it): points answer."""
    store = open_finalised(tmp_path, [(0, k * 10 * SECOND, float(k)) for k in range(720)])
    try:
        store._w.execute("DELETE FROM hourly_first")
        spy = Spy(monkeypatch)
        start = T0_NS // 1_000_000 + HOUR_MS
        got = Engine(StoreSource(store)).range('sum_over_time(g{host="h0"}[1h])', start, start, HOUR_MS)
        assert got.result[0]["values"] == [[start / 1000, str(sum(range(361)))]]
        assert spy.answered == 0
    finally:
        store.close()


def test_the_point_at_the_window_end_counts(tmp_path, monkeypatch):
    """[t - 1h, t] is closed at both ends (Prometheus 2): the point at t, the first of the
    next hour, counts, read from its first record."""
    store = open_finalised(tmp_path, [(0, 0, 1.0), (0, 1800 * SECOND, 2.0), (0, 3600 * SECOND, 4.0),
                                      (0, 5400 * SECOND, 8.0)])
    try:
        spy = Spy(monkeypatch)
        start = T0_NS // 1_000_000 + HOUR_MS
        got = Engine(StoreSource(store)).range('sum_over_time(g{host="h0"}[1h])', start, start + HOUR_MS, HOUR_MS)
        assert [v for _, v in got.result[0]["values"]] == ["7", "12"] and spy.answered == 1
    finally:
        store.close()


def test_windows_that_cancel_are_left_to_the_points():
    """A sum whose terms change sign could differ from the point-by-point sum in more than
    its last bits: `windows` declines it; min and max are exact and answered."""
    h = hourly.Hours([{"__name__": "x"}], 0, np.array([[2]]), np.array([[0.0]]), np.array([[-1e17]]),
                     np.array([[1e17]]), np.zeros((1, 2), dtype=bool), np.zeros((1, 2)))
    ends = np.array([HOUR_MS])
    assert hourly.windows("sum_over_time", h, ends, HOUR_MS) is None
    assert hourly.windows("avg_over_time", h, ends, HOUR_MS) is None
    value, ok = hourly.windows("max_over_time", h, ends, HOUR_MS)
    assert value.tolist() == [[1e17]] and ok.tolist() == [[True]]


def test_only_whole_hour_windows_qualify():
    assert hourly.aligned(np.array([HOUR_MS, 3 * HOUR_MS]), HOUR_MS)
    assert not hourly.aligned(np.array([HOUR_MS, 3 * HOUR_MS + 1]), HOUR_MS)
    assert not hourly.aligned(np.array([2 * HOUR_MS]), 30 * 60_000)
    assert hourly.aligned(np.array([-HOUR_MS]), 2 * HOUR_MS)


def test_hours_past_the_raw_retention_answer_as_the_points_do(tmp_path, monkeypatch):
    """Expired hours keep their records (for Weir's own queries) but no points: PromQL
    answers from neither, whether or not its windows are whole hours."""
    clock = FakeClock(T0_NS / 1e9 + 8 * 3600)
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=3 * 3600, finalise_grace_seconds=0, clock=clock)
    try:
        write(store, [(0, k * 60 * SECOND, 1.0) for k in range(8 * 60)], SERIES)
        store.finalise()
        store.sweep()
        engine = Engine(StoreSource(store))
        start = T0_NS // 1_000_000 + HOUR_MS
        args = ('count_over_time(g{host="h0"}[1h])', start, start + 7 * HOUR_MS, HOUR_MS)
        spy = Spy(monkeypatch)
        got = d.weir_answer(engine.range, *args)
        assert spy.answered == 1
        points_only(monkeypatch)
        want = d.weir_answer(engine.range, *args)
    finally:
        store.close()
    assert got == want
    steps = [t for t, _ in want["data"]["result"][0]["values"]]
    assert steps and steps[0] > start / 1000  # the early hours are gone


def test_points_read_beside_the_records_count_against_the_sample_limit(tmp_path):
    """Hours not finalised are read as points: past the engine's limit that is the usual 422."""
    from weir.promql.errors import ExecutionError

    store = open_finalised(tmp_path, [(0, k * 10 * SECOND, 1.0) for k in range(360)])
    try:
        write(store, [(0, 3600 * SECOND + k * SECOND, 1.0) for k in range(500)])  # in memory
        start = T0_NS // 1_000_000 + HOUR_MS
        query = 'count_over_time(g{host="h0"}[1h])'
        assert Engine(StoreSource(store), max_samples=1000).range(query, start, start + HOUR_MS, HOUR_MS).result
        with pytest.raises(ExecutionError, match="too many samples|more than"):
            Engine(StoreSource(store), max_samples=300).range(query, start, start + HOUR_MS, HOUR_MS)
    finally:
        store.close()
