"""The sketch's percentiles are within its stated error of the exact ones, however it is
split and merged, and it survives encoding."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from weir.metrics.aggregate import percentile
from weir.metrics.sketch import ERROR_BOUND, ZERO, Sketch

values = st.lists(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False) | st.sampled_from([0.0, -0.0, 1e-12]),
                  min_size=1, max_size=300)
QS = (0.0, 0.5, 0.9, 0.99, 1.0)


def assert_close(sketch: Sketch, vals: list[float]) -> None:
    ordered = sorted(vals)
    n = len(ordered)
    for q in QS:
        exact = percentile(ordered, q)
        lo = int((n - 1) * q)
        hi = min(lo + 1, n - 1)
        bound = ERROR_BOUND * max(abs(ordered[lo]), abs(ordered[hi])) + ZERO
        assert abs(sketch.quantile(q) - exact) <= bound, (q, sketch.quantile(q), exact)


@given(values)
def test_quantiles_are_within_the_stated_error(vals):
    assert_close(Sketch.of(vals), vals)


@given(values, st.lists(st.integers(0, 300), max_size=5))
def test_merging_any_split_equals_the_sketch_of_the_whole(vals, cuts):
    bounds = sorted({0, len(vals), *(min(c, len(vals)) for c in cuts)})
    merged = Sketch()
    for a, b in zip(bounds, bounds[1:]):
        merged.merge(Sketch.of(vals[a:b]))
    assert merged == Sketch.of(vals)
    assert merged.count == len(vals)
    assert_close(merged, vals)


@given(values)
def test_encoding_roundtrips(vals):
    s = Sketch.of(vals)
    assert Sketch.decode(s.encode()) == s


def test_min_and_max_are_exact():
    s = Sketch.of([3.3, 7.7, 5.5])
    assert s.quantile(0.0) == 3.3 and s.quantile(1.0) == 7.7


def test_an_hour_of_a_gauge_is_small():
    vals = [round(50 + 10 * math.sin(i / 40), 1) for i in range(360)]
    assert len(Sketch.of(vals).encode()) < 200


def test_infinite_values_have_buckets_of_their_own():
    """A gauge may be ±inf: its hour's sketch is built (it used to raise, and the hour was
    never finalised), survives encoding, and reports the infinities at the ends."""
    s = Sketch.decode(Sketch.of([1.0, math.inf, -math.inf, 2.0, math.inf]).encode())
    assert s.count == 5
    assert s.quantile(0.0) == -math.inf and s.quantile(1.0) == math.inf
    assert abs(s.quantile(0.5) - 2.0) <= ERROR_BOUND * 2.0
