"""The array fold against plain arithmetic (`aggregate.summarize`): any series, groups and
periods, and any split of the points between raw arrays and rollup records."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.metrics.aggregate import summarize
from weir.metrics.arrays import SeriesArrays, latest_wins, trim
from weir.metrics.query.fold import PeriodFold
from weir.metrics.sketch import ERROR_BOUND, ZERO, Sketch

STATS = ["count", "sum", "avg", "min", "max", "last", "p50", "p90", "p99"]
values = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@st.composite
def datasets(draw):
    n_series = draw(st.integers(1, 6))
    series = []
    for _ in range(n_series):
        ts = sorted(draw(st.sets(st.integers(0, 999), min_size=1, max_size=60)))
        series.append((ts, [draw(values) for _ in ts]))
    groups = [draw(st.integers(0, 2)) for _ in series]
    period = draw(st.sampled_from([1, 7, 10, 100, 1000]))
    start = draw(st.integers(0, 300)) // period * period
    n_periods = draw(st.integers(1, 1200 // period + 1))
    bucket = draw(st.sampled_from([10, 100]))  # rollup record width; periods must be multiples
    split = draw(st.lists(st.booleans(), min_size=100, max_size=100))
    return series, groups, period, start, n_periods, bucket, split


def expected(series, groups, period, start, n_periods):
    """Plain Python: per (group, period) the values, and the latest point with its series rank."""
    cells: dict[tuple[int, int], list[float]] = {}
    latest: dict[tuple[int, int], tuple[int, int, float]] = {}
    for rank, ((ts, vals), g) in enumerate(zip(series, groups)):
        for t, v in zip(ts, vals):
            p = (t - start) // period
            if 0 <= p < n_periods:
                cells.setdefault((g, p), []).append(v)
                if (g, p) not in latest or (t, rank) >= latest[(g, p)][:2]:
                    latest[(g, p)] = (t, rank, v)
    out = {}
    for key, vals in cells.items():
        row = summarize(vals, [s for s in STATS if s != "last"])
        row["last"] = latest[key][2]
        out[key] = row
    return out


def got_rows(fold: PeriodFold) -> dict:
    cells, cols = fold.columns()
    rows = {}
    for i, c in enumerate(cells.tolist()):
        rows[divmod(c, fold.n_periods)] = {s: cols[s][i].item() for s in cols}
    return rows


def assert_rows(got, want):
    assert got.keys() == want.keys()
    for key, row in want.items():
        for s, v in row.items():
            g = got[key][s]
            if s in ("sum", "avg"):
                assert g == pytest.approx(v, rel=1e-9, abs=1e-6), (key, s)
            else:
                assert g == v, (key, s, g, v)


@given(datasets())
def test_raw_points_fold_like_plain_arithmetic(data):
    series, groups, period, start, n_periods, _, _ = data
    fold = PeriodFold(3, start, period, n_periods, STATS)
    block = SeriesArrays.from_series([(i, np.array(ts), np.array(vals)) for i, (ts, vals) in enumerate(series)])
    fold.add_points(block, np.array(groups), np.arange(len(series)))
    assert_rows(got_rows(fold), expected(series, groups, period, start, n_periods))


def records(ts, vals, bucket):
    """Plain rollup records of sorted points: per bucket count, sum, min, max, last."""
    out: dict[int, list] = {}
    for t, v in zip(ts, vals):
        b = t - t % bucket
        r = out.setdefault(b, [0, 0.0, math.inf, -math.inf, 0, 0.0])
        r[0] += 1
        r[1] += v
        r[2] = min(r[2], v)
        r[3] = max(r[3], v)
        r[4], r[5] = t, v
    return out


@given(datasets())
def test_any_split_between_rollups_and_raw_points_gives_the_same_answer(data):
    series, groups, period, start, n_periods, bucket, split = data
    if period % bucket:
        period = bucket * max(1, period // bucket)
        start = start // period * period
    stats = [s for s in STATS if not s.startswith("p")]
    fold = PeriodFold(3, start, period, n_periods, stats)
    raw_parts = []
    for rank, ((ts, vals), g) in enumerate(zip(series, groups)):
        recs = records(ts, vals, bucket)
        rolled = {b for b in recs if split[(b // bucket) % 100]}
        keep = [(t, v) for t, v in zip(ts, vals) if t - t % bucket not in rolled]
        raw_parts.append((rank, np.array([t for t, _ in keep], dtype=np.int64), np.array([v for _, v in keep])))
        if rolled:
            rs = sorted(rolled)
            cols = list(zip(*(recs[b] for b in rs)))
            n = len(rs)
            fold.add_records(np.full(n, g), np.full(n, rank), np.array(rs), np.array(cols[0]), np.array(cols[1]),
                             np.array(cols[2]), np.array(cols[3]), np.array(cols[4]), np.array(cols[5]))
    block = SeriesArrays.from_series(raw_parts)
    fold.add_points(block, np.array(groups)[block.ids], block.ids)
    want = expected(series, groups, period, start, n_periods)
    want = {k: {s: v for s, v in row.items() if s in stats} for k, row in want.items()}
    assert_rows(got_rows(fold), want)


@given(datasets())
def test_percentiles_from_sketches_are_within_the_error_bound(data):
    series, groups, period, start, n_periods, bucket, split = data
    period = bucket * max(1, period // bucket)
    start = start // period * period
    stats = ["count", "p50", "p90", "p99"]
    fold = PeriodFold(3, start, period, n_periods, stats)
    raw_parts = []
    for rank, ((ts, vals), g) in enumerate(zip(series, groups)):
        by_bucket: dict[int, list[float]] = {}
        keep = []
        for t, v in zip(ts, vals):
            b = t - t % bucket
            if split[(b // bucket) % 100]:
                by_bucket.setdefault(b, []).append(v)
            else:
                keep.append((t, v))
        raw_parts.append((rank, np.array([t for t, _ in keep], dtype=np.int64), np.array([v for _, v in keep])))
        rs = sorted(by_bucket)
        if rs:
            n = len(rs)
            fold.add_records(np.full(n, g), np.full(n, rank), np.array(rs), np.array([len(by_bucket[b]) for b in rs]),
                             np.zeros(n), np.zeros(n), np.zeros(n), np.array(rs), np.zeros(n))
            fold.add_sketches([g] * n, rs, [Sketch.of(by_bucket[b]) for b in rs])
    block = SeriesArrays.from_series(raw_parts)
    fold.add_points(block, np.array(groups)[block.ids], block.ids)
    got = got_rows(fold)
    per_cell: dict[tuple[int, int], list[float]] = {}
    for (ts, vals), g in zip(series, groups):
        for t, v in zip(ts, vals):
            p = (t - start) // period
            if 0 <= p < n_periods:
                per_cell.setdefault((g, p), []).append(v)
    assert got.keys() == per_cell.keys()
    for key, vals in per_cell.items():
        ordered = sorted(vals)
        n = len(ordered)
        assert got[key]["count"] == n
        for s, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99)):
            exact = summarize(vals, [s])[s]
            lo = int((n - 1) * q)
            hi = min(lo + 1, n - 1)
            bound = ERROR_BOUND * max(abs(ordered[lo]), abs(ordered[hi])) + ZERO
            assert abs(got[key][s] - exact) <= bound * (1 + 1e-9) + 1e-9, (key, s, got[key][s], exact)


@given(st.lists(st.tuples(st.integers(0, 50), values), max_size=80))
def test_latest_write_wins_at_equal_timestamps(points):
    ts = np.array([t for t, _ in points], dtype=np.int64)
    vals = np.array([v for _, v in points])
    got_t, got_v = latest_wins(ts, vals)
    want = dict(points)
    assert got_t.tolist() == sorted(want)
    assert got_v.tolist() == [want[t] for t in sorted(want)]


def test_trim_drops_points_and_empty_series():
    block = SeriesArrays.from_series([(1, np.array([1, 5, 9]), np.array([1.0, 5.0, 9.0])),
                                      (2, np.array([20]), np.array([2.0]))])
    got = trim(block, 4, 10)
    assert got.to_lists() == {1: ([5, 9], [5.0, 9.0])}


INT64 = st.integers(-(2**63), 2**63 - 1)


@given(start=INT64, period=st.integers(1, 2**62), ts=st.lists(INT64, min_size=1, max_size=20))
def test_period_index_is_exact_over_the_whole_int64_range(start, period, ts):
    """`ts - start` overflows int64 for ranges over 292 years (1680 to 2260 is a valid query);
    the index itself is exact wherever it fits in int64 (a query's is below 100,000)."""
    fold = PeriodFold(1, start, period, 1, ["count"])
    ts = [t for t in ts if abs((t - start) // period) < 2**63 - 1]
    got = fold._index(np.array(ts, dtype=np.int64))
    assert got.tolist() == [(t - start) // period for t in ts]
