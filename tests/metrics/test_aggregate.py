import math
import statistics

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.metrics.aggregate import bucket_many, bucket_sorted, percentile, summarize


def test_percentile_interpolates_like_numpy():
    assert percentile([1.0, 2.0], 0.5) == 1.5
    assert percentile([5.0], 0.99) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)


def test_summarize_all():
    out = summarize([3.0, 1.0, 2.0], ["count", "sum", "avg", "min", "max", "p50"])
    assert out == {"count": 3, "sum": 6.0, "avg": 2.0, "min": 1.0, "max": 3.0, "p50": 2.0}


floats = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(st.lists(floats, min_size=1, max_size=200))
def test_summarize_matches_statistics(values):
    out = summarize(values, ["count", "sum", "avg", "min", "max", "p50"])
    assert out["count"] == len(values)
    assert out["sum"] == pytest.approx(math.fsum(values), abs=1e-6)
    assert out["min"] == min(values) and out["max"] == max(values)
    assert out["p50"] == pytest.approx(statistics.median(values), abs=1e-6)


@given(
    st.lists(st.integers(min_value=0, max_value=10_000), unique=True, max_size=300),
    st.integers(min_value=1, max_value=500),
    st.integers(min_value=0, max_value=2_000),
)
def test_bucketing_matches_a_naive_loop(times, period, start):
    ts = sorted(times)
    vals = [float(t) for t in ts]
    n = 20
    got = {i: list(v) for i, v in bucket_sorted(ts, vals, start, period, n)}
    want: dict[int, list[float]] = {}
    for t, v in zip(ts, vals):
        i = (t - start) // period if t >= start else -1
        if 0 <= i < n:
            want.setdefault(i, []).append(v)
    assert got == want
    # merging the same series twice doubles every bucket
    merged = bucket_many([(ts, vals), (ts, vals)], start, period, n)
    assert {i: sorted(v) for i, v in merged.items()} == {i: sorted(v * 2) for i, v in want.items()}
