"""Range-vector functions, vectorized over all steps, against a per-window loop that follows
Prometheus' code sample by sample (the differential suite checks Prometheus itself)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.promql import windows


def _reference(name: str, ts: list[int], vs: list[float], end: int, range_ms: int) -> float | None:
    """One window, sample by sample, as Prometheus 2.42's functions.go computes it."""
    if not vs:
        return None
    if name == "count_over_time":
        return float(len(vs))
    if name == "last_over_time":
        return vs[-1]
    if name == "max_over_time":
        out = vs[0]
        for v in vs:
            if v > out or math.isnan(out):
                out = v
        return out
    if name == "min_over_time":
        out = vs[0]
        for v in vs:
            if v < out or math.isnan(out):
                out = v
        return out
    if name == "sum_over_time":
        return math.fsum(vs) if all(math.isfinite(v) for v in vs) else sum(vs)
    if name == "avg_over_time":
        return math.fsum(vs) / len(vs) if all(math.isfinite(v) for v in vs) else sum(vs) / len(vs)
    if name in ("changes", "resets"):
        n = 0
        for a, b in zip(vs, vs[1:]):
            if name == "resets" and b < a:
                n += 1
            if name == "changes" and a != b and not (math.isnan(a) and math.isnan(b)):
                n += 1
        return float(n)
    if len(vs) < 2:
        return None
    if name in ("irate", "idelta"):
        last, prev = vs[-1], vs[-2]
        value = last if name == "irate" and last < prev else last - prev
        return value / ((ts[-1] - ts[-2]) / 1000) if name == "irate" else value
    counter = name in ("rate", "increase")
    result = vs[-1] - vs[0]
    if counter:
        prev = vs[0]
        for v in vs[1:]:
            if v < prev:
                result += prev
            prev = v
    start = end - range_ms
    to_start, to_end = (ts[0] - start) / 1000, (end - ts[-1]) / 1000
    sampled = (ts[-1] - ts[0]) / 1000
    avg = sampled / (len(vs) - 1)
    if counter and result > 0 and vs[0] >= 0:
        to_start = min(to_start, sampled * (vs[0] / result))
    interval = sampled + (to_start if to_start < avg * 1.1 else avg / 2) + (to_end if to_end < avg * 1.1 else avg / 2)
    factor = interval / sampled / (range_ms / 1000 if name == "rate" else 1)
    return result * factor


NAMES = [
    "count_over_time",
    "last_over_time",
    "max_over_time",
    "min_over_time",
    "sum_over_time",
    "avg_over_time",
    "changes",
    "resets",
    "irate",
    "idelta",
    "rate",
    "increase",
    "delta",
]


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b or abs(a - b) <= 1e-9 * max(abs(a), abs(b))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 30_000),
            st.floats(-1e6, 1e6).filter(lambda x: x == 0 or abs(x) > 1e-6) | st.sampled_from([0.0, 5.0, math.nan]),
        ),
        min_size=0,
        max_size=60,
    ),
    st.integers(1, 120_000),
    st.integers(1, 40_000),
    st.sampled_from(NAMES),
)
def test_vectorized_windows_match_the_sequential_reference(points, range_ms, step, name):
    t, acc = [], 0
    for gap, _ in points:
        acc += gap
        t.append(acc)
    v = [value for _, value in points]
    ta, va = np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64)
    ends = np.arange(-range_ms, acc + range_ms + 1, step, dtype=np.int64)
    lo, hi = windows.bounds(ta, ends, range_ms)
    got, ok = windows.FUNCTIONS[name](ta, va, lo, hi, ends=ends, range_ms=range_ms, steps=ends, args=[])
    for k, end in enumerate(ends.tolist()):
        idx = [i for i, x in enumerate(t) if end - range_ms <= x <= end]
        want = _reference(name, [t[i] for i in idx], [v[i] for i in idx], end, range_ms)
        assert bool(ok[k]) == (want is not None), (name, end, idx)
        if want is not None:
            assert _close(float(got[k]), want), (name, end, float(got[k]), want)


def test_windows_include_both_ends():
    t = np.array([0, 10, 20], dtype=np.int64)
    lo, hi = windows.bounds(t, np.array([20]), 10)
    assert (lo[0], hi[0]) == (1, 3)


def test_sum_and_avg_over_time_with_infinities_as_prometheus():
    t = np.arange(4, dtype=np.int64)
    ends = np.array([3])
    for vals, total, mean in [
        ([1, math.inf, 2, 3], math.inf, math.inf),
        ([math.inf, -math.inf, 1, 1], math.nan, math.nan),
        ([1, math.nan, 1, 1], math.nan, math.nan),
        ([-math.inf, 1, 1, 1], -math.inf, -math.inf),
    ]:
        v = np.array(vals, dtype=float)
        lo, hi = windows.bounds(t, ends, 10)
        assert _close(windows.sum_over_time(t, v, lo, hi)[0][0], total)
        assert _close(windows.avg_over_time(t, v, lo, hi)[0][0], mean)


def test_holt_winters_refuses_bad_factors():
    from weir.promql.errors import ExecutionError

    t = np.arange(3, dtype=np.int64)
    v = np.array([1.0, 2.0, 4.0])
    lo, hi = windows.bounds(t, np.array([2]), 10)
    with pytest.raises(ExecutionError, match="smoothing factor"):
        windows.holt_winters(t, v, lo, hi, args=[np.array([1.0]), np.array([0.5])])
    got, ok = windows.holt_winters(t, v, lo, hi, args=[np.array([0.5]), np.array([0.5])])
    # s1=1, b=1; i=1: s1 = 0.5*2 + 0.5*(1+1) = 2; i=2: b = 0.5*(2-1) + 0.5*1 = 1, s1 = 0.5*4 + 0.5*(2+1)
    assert ok[0] and got[0] == 3.5


def test_long_per_window_loops_check_the_deadline():
    from weir.promql.errors import QueryTimeoutError

    t = np.arange(3000, dtype=np.int64)
    v = np.arange(3000, dtype=float)
    ends = np.arange(3000, dtype=np.int64)
    lo, hi = windows.bounds(t, ends, 5)

    def expired():
        raise QueryTimeoutError("query timed out in expression evaluation")

    with pytest.raises(QueryTimeoutError):
        windows.stddev_over_time(t, v, lo, hi, check=expired)
    assert windows.stddev_over_time(t, v, lo, hi, check=lambda: None)[1].all()
