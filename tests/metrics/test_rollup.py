"""Minute rollups folded into query periods give what the raw points give."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from weir.metrics.aggregate import bucket_many, summarizer
from weir.metrics.rollup import MINUTE_NS, Minutes, PeriodTotals, build_minutes, usable
from weir.metrics.timeutil import NS

H0 = 1_700_000_000 // 3600 * 3600 * NS  # an hour start
FIRST = datetime.fromtimestamp(H0 / NS, UTC)


def test_build_minutes_counts_sums_and_bounds_each_minute():
    ts = [H0, H0 + 10 * NS, H0 + 59 * NS, H0 + 60 * NS, H0 + 3599 * NS]
    vals = [1.0, 5.0, -2.0, 7.0, 3.0]
    m = build_minutes(ts, vals)
    assert m.ts == [H0, H0 + MINUTE_NS, H0 + 59 * MINUTE_NS]
    assert m.count == [3, 1, 1]
    assert m.sum == [4.0, 7.0, 3.0]
    assert m.min == [-2.0, 7.0, 3.0]
    assert m.max == [5.0, 7.0, 3.0]
    assert m.points() == 5
    assert build_minutes([], []) == Minutes()


def test_only_exact_statistics_over_whole_minutes_use_rollups():
    assert usable(["count", "sum", "avg", "min", "max"], 60 * NS)
    assert usable(["avg"], 3600 * NS)
    assert not usable(["avg", "p50"], 60 * NS)  # percentiles need the points
    assert not usable(["avg"], 30 * NS)  # a period inside a minute
    assert not usable(["avg"], 90 * NS)  # periods that cut minutes in half


series_points = st.dictionaries(
    st.integers(min_value=0, max_value=3 * 3600 - 1), st.integers(min_value=-1000, max_value=1000), max_size=60
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(series_points, min_size=1, max_size=4),
    st.sampled_from([60, 120, 300, 3600, 7200]),
    st.integers(min_value=0, max_value=3),
    st.integers(min_value=0, max_value=3 * 3600),
)
def test_rollups_points_and_a_mix_of_both_equal_the_raw_statistics(raw, period_s, cut_hour, start_s):
    """Integer values, so sums are exact whatever the order of addition."""
    stats = ["count", "sum", "avg", "min", "max"]
    period = period_s * NS
    start = (H0 + start_s * NS) // period * period
    n_periods = 4 * 3600 // period_s + 1
    arrays = []
    for pts in raw:
        ts = sorted(H0 + s * NS for s in pts)
        arrays.append((ts, [float(pts[(t - H0) // NS]) for t in ts]))
    summarize = summarizer(stats)
    first = datetime.fromtimestamp(start / NS, UTC)
    step = timedelta(seconds=period_s)
    expected = [summarize(v, timestamp=first + i * step)
                for i, v in bucket_many(arrays, start, period, n_periods).items()]
    # hours before `cut` from rollups, the rest from points (as a query over pending hours)
    cut = H0 + cut_hour * 3600 * NS
    totals = PeriodTotals(start, period, n_periods)
    for ts, vals in arrays:
        k = sum(1 for t in ts if t < cut)
        totals.add_minutes(build_minutes(ts[:k], vals[:k]))
        totals.add_points(ts[k:], vals[k:])
    assert totals.summaries(stats, first, step) == expected


def test_summaries_keep_the_requested_order_of_statistics():
    totals = PeriodTotals(H0, 60 * NS, 2)
    totals.add_points([H0 + NS, H0 + 61 * NS], [2.0, 4.0])
    rows = totals.summaries(["max", "count"], FIRST, timedelta(seconds=60))
    assert [list(r) for r in rows] == [["timestamp", "max", "count"]] * 2
    assert rows[1] == {"timestamp": FIRST + timedelta(seconds=60), "max": 4.0, "count": 1}
