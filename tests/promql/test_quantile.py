"""quantile() and histogram_quantile()'s bucket interpolation, edge cases included."""

from __future__ import annotations

import math

import pytest

from weir.promql.quantile import bucket_quantile, quantile

INF = math.inf


def test_quantile_interpolates_between_ranks():
    assert quantile(0.5, [1.0, 3.0, 2.0, 4.0]) == 2.5
    assert quantile(0.0, [5.0, 1.0]) == 1.0 and quantile(1.0, [5.0, 1.0]) == 5.0


@pytest.mark.parametrize(("q", "want"), [(-0.1, -INF), (1.1, INF), (math.nan, math.nan)])
def test_quantile_out_of_range(q, want):
    got = quantile(q, [1.0, 2.0])
    assert got == want or (math.isnan(got) and math.isnan(want))


def test_quantile_of_nothing_is_nan():
    assert math.isnan(quantile(0.5, []))


def test_nan_values_sort_first():
    assert math.isnan(quantile(0.0, [1.0, math.nan]))
    assert quantile(1.0, [1.0, math.nan]) == 1.0


def test_bucket_quantile_linear_within_a_bucket():
    buckets = [(1.0, 10.0), (2.0, 20.0), (INF, 20.0)]
    assert bucket_quantile(0.5, buckets) == 1.0
    assert bucket_quantile(0.75, buckets) == 1.5
    assert bucket_quantile(1.0, buckets) == 2.0


def test_bucket_quantile_rules():
    assert math.isnan(bucket_quantile(0.5, [(1.0, 1.0), (2.0, 2.0)]))  # no +Inf bucket
    assert math.isnan(bucket_quantile(0.5, [(INF, 0.0), (1.0, 0.0)]))  # no observations
    assert bucket_quantile(0.99, [(1.0, 1.0), (INF, 100.0)]) == 1.0  # in +Inf: the largest finite bound
    assert bucket_quantile(0.1, [(-1.0, 5.0), (INF, 10.0)]) == -1.0  # first bucket bound <= 0
    assert bucket_quantile(-1, [(INF, 1.0)]) == -INF and bucket_quantile(2, [(INF, 1.0)]) == INF


def test_bucket_quantile_fixes_monotonicity_and_merges_equal_bounds():
    # 0.5 holds more than 1.0 (3 > 2): raised to the running maximum, as Prometheus does.
    assert bucket_quantile(0.5, [(0.5, 3.0), (1.0, 2.0), (INF, 4.0)]) == bucket_quantile(
        0.5, [(0.5, 3.0), (1.0, 3.0), (INF, 4.0)]
    )
    assert bucket_quantile(0.5, [(1.0, 1.0), (1.0, 1.0), (INF, 4.0)]) == 1.0
