"""Statistics per period over sorted point arrays. Pure functions, no I/O.

Percentiles interpolate linearly between closest ranks (numpy's default, "type 7"), so
p50 of [1, 2] is 1.5.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable

STATS = ("count", "sum", "avg", "min", "max", "p50", "p90", "p99")
_PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


def percentile(sorted_values: list[float], q: float) -> float:
    n = len(sorted_values)
    pos = (n - 1) * q
    lo = int(pos)
    hi = lo + 1 if lo + 1 < n else lo
    a = sorted_values[lo]
    return a + (sorted_values[hi] - a) * (pos - lo)


def summarize(values: list[float], stats: Iterable[str]) -> dict[str, float | int]:
    """The requested statistics of one non-empty period."""
    out: dict[str, float | int] = {}
    ordered: list[float] | None = None
    for stat in stats:
        if stat == "count":
            out[stat] = len(values)
        elif stat == "sum":
            out[stat] = math.fsum(values)
        elif stat == "avg":
            out[stat] = math.fsum(values) / len(values)
        elif stat == "min":
            out[stat] = min(values)
        elif stat == "max":
            out[stat] = max(values)
        else:
            if ordered is None:
                ordered = sorted(values)
            out[stat] = percentile(ordered, _PERCENTILES[stat])
    return out


def bucket_sorted(ts: list[int], vals: list[float], start: int, period: int, n_periods: int):
    """Yield (period index, values) for the non-empty periods of one sorted series."""
    lo = bisect_left(ts, start)
    end = bisect_left(ts, start + n_periods * period, lo)
    while lo < end:
        i = (ts[lo] - start) // period
        hi = bisect_left(ts, start + (i + 1) * period, lo, end)
        yield i, vals[lo:hi]
        lo = hi


def bucket_many(arrays: Iterable[tuple[list[int], list[float]]], start: int, period: int, n_periods: int):
    """Merge several series into periods; returns {period index: values}."""
    buckets: dict[int, list[float]] = {}
    for ts, vals in arrays:
        for i, v in bucket_sorted(ts, vals, start, period, n_periods):
            got = buckets.get(i)
            if got is None:
                buckets[i] = list(v)
            else:
                got.extend(v)
    return dict(sorted(buckets.items()))
