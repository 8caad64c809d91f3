"""Quantiles: of a set of values (`quantile`, `quantile_over_time`) and of classic histogram
buckets (`histogram_quantile`), with Prometheus' rules for edge cases."""

from __future__ import annotations

import math


def quantile(q: float, values: list[float]) -> float:
    """The q-quantile, interpolating between the two nearest ranks. NaN values sort first
    (Prometheus' ordering); q < 0 is -Inf, q > 1 is +Inf, q NaN or no values NaN."""
    if not values or q != q:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values, key=lambda x: (x == x, x if x == x else 0.0))
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


def bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    """`histogram_quantile` over (upper bound, cumulative count) pairs.

    Buckets with the same bound are merged; counts that decrease with the bound are raised
    to the running maximum (Prometheus' monotonicity fix); the +Inf bucket must exist.
    """
    if q != q:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if not ordered or ordered[-1][0] != math.inf:
        return math.nan
    merged: list[list[float]] = []
    for bound, count in ordered:
        if merged and merged[-1][0] == bound:
            merged[-1][1] += count
        else:
            merged.append([bound, count])
    top = merged[0][1]
    for bucket in merged[1:]:
        if bucket[1] > top:
            top = bucket[1]
        elif bucket[1] < top:
            bucket[1] = top
    if len(merged) < 2:
        return math.nan
    observations = merged[-1][1]
    if observations == 0:
        return math.nan
    rank = q * observations
    # First bucket (among all but the last) whose count reaches the rank.
    lo, hi = 0, len(merged) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if merged[mid][1] >= rank:
            hi = mid
        else:
            lo = mid + 1
    b = lo
    if b == len(merged) - 1:
        return merged[-2][0]
    if b == 0 and merged[0][0] <= 0:
        return merged[0][0]
    start = 0.0
    end = merged[b][0]
    count = merged[b][1]
    if b > 0:
        start = merged[b - 1][0]
        count -= merged[b - 1][1]
        rank -= merged[b - 1][1]
    if count == 0:  # Go divides to NaN or ±Inf where Python raises
        ratio = math.nan if rank == 0 or rank != rank else math.copysign(math.inf, rank)
    else:
        ratio = rank / count
    return start + (end - start) * ratio
