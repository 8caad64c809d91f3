"""Range-vector functions, vectorized over all steps, against a per-window loop that follows
Prometheus' code sample by sample (the differential suite checks Prometheus itself)."""

from __future__ import annotations

import math

import numpy as np
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


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.integers(1, 20_000),
                # not 1e16 times below the samples before it: the prefix sums' documented limit (`Sums`)
                st.floats(-1e6, 1e6).filter(lambda x: x == 0 or abs(x) > 1e-6) | st.sampled_from([0.0, 5.0, math.nan]),
            ),
            min_size=0,
            max_size=30,
        ),
        min_size=1,
        max_size=6,
    ),
    st.sampled_from([(60_000, 60_000), (30_000, 60_000), (120_000, 60_000), (10_000, 7_000)]),
    st.sampled_from(NAMES),
    st.randoms(use_true_random=False),
)
def test_many_series_in_any_row_order_match_the_per_series_reference(series, range_step, name, rnd):
    """Every window of every series at once, rows taken from one concatenation in another
    order (as the store's block is used), against the plain reference per series and step;
    steps aligned to the range included, where neighbouring windows share their edge sample."""
    range_ms, step = range_step
    ts, vs = [], []
    for points in series:
        t, acc = [], 0
        for gap, _ in points:
            acc += gap
            t.append(acc)
        ts.append(np.asarray(t, dtype=np.int64))
        vs.append(np.asarray([v for _, v in points], dtype=np.float64))
    lens = np.array([len(t) for t in ts], dtype=np.int64)
    starts = np.cumsum(lens) - lens
    order = list(range(len(ts)))
    rnd.shuffle(order)
    batch = windows.Batch.views(np.concatenate(ts), np.concatenate(vs), starts[order], lens[order])
    last = max([int(t[-1]) for t in ts if len(t)], default=0)
    ends = np.arange(0, last + 2 * range_ms, step, dtype=np.int64)
    lo, hi = batch.bounds(ends, range_ms)
    k = len(order)
    got, ok = windows.FUNCTIONS[name](
        batch.t, batch.v, lo.ravel(), hi.ravel(), ends=np.tile(ends, k), range_ms=range_ms,
        steps=np.tile(ends, k), args=[],
    )
    got, ok = got.reshape(k, len(ends)), ok.reshape(k, len(ends))
    for row, i in enumerate(order):
        t, v = ts[i].tolist(), vs[i].tolist()
        for j, end in enumerate(ends.tolist()):
            idx = [x for x, tt in enumerate(t) if end - range_ms <= tt <= end]
            want = _reference(name, [t[x] for x in idx], [v[x] for x in idx], end, range_ms)
            assert bool(ok[row, j]) == (want is not None), (name, i, end)
            if want is not None:
                assert _close(float(got[row, j]), want), (name, i, end, float(got[row, j]), want)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6).filter(lambda x: x == 0 or abs(x) > 1e-6) | st.sampled_from([1e15, -1e15, 0.1, 3.0]),
             min_size=40, max_size=400),
    st.integers(5, 60),
    st.sampled_from(["sum_over_time", "avg_over_time"]),
)
def test_sums_of_long_windows_are_within_1e_12_of_exact(values, range_ms, name):
    """Windows of many samples each (a step as long as the range, as `avg_over_time(x[1h])`
    at 1 h): segment sums where their error bound allows, double-double prefix sums where
    it does not (cancellation); either way within 1e-12 of the exactly rounded sum."""
    t = np.arange(len(values), dtype=np.int64)
    v = np.asarray(values, dtype=np.float64)
    ends = np.arange(0, len(values) + range_ms, range_ms, dtype=np.int64)
    lo, hi = windows.bounds(t, ends, range_ms)
    got, ok = windows.FUNCTIONS[name](t, v, lo, hi, ends=ends, range_ms=range_ms, steps=ends, args=[])
    for k in range(len(ends)):
        part = values[lo[k] : hi[k]]
        assert bool(ok[k]) == bool(part)
        if part:
            exact = math.fsum(part) / (len(part) if name == "avg_over_time" else 1)
            slack = 1e-25 * sum(abs(x) for x in values)
            assert abs(float(got[k]) - exact) <= 1e-12 * abs(exact) + slack, (k, float(got[k]), exact)


def test_segment_sums_are_taken_only_where_their_error_bound_allows():
    t = np.arange(3600, dtype=np.int64)
    v = np.round(np.random.default_rng(7).uniform(0, 100, 3600), 1)
    ends = np.arange(0, 3600, 360, dtype=np.int64)
    lo, hi = windows.bounds(t, ends, 360)
    fast = windows._segment_sums(v, lo, hi)
    assert fast is not None
    assert np.allclose(fast, [math.fsum(v[a:b]) for a, b in zip(lo, hi)], rtol=1e-13, atol=0)
    v[:360] = [1e15, -1e15] * 180  # a window that cancels to zero: the bound cannot hold
    assert windows._segment_sums(v, lo, hi) is None
