"""Statistics per period over sorted point arrays. Pure functions, no I/O.

Percentiles interpolate linearly between closest ranks (numpy's default, "type 7"), so
p50 of [1, 2] is 1.5.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterable

STATS = ("count", "sum", "avg", "min", "max", "last", "p50", "p90", "p99")
_PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}


def total(values: list[float]) -> float:
    """`math.fsum` (exactly rounded), or IEEE's sum where fsum refuses: inf + -inf is nan
    (fsum raises), and a sum past the largest float is inf (fsum raises on the overflow).
    A point may be infinite; a refused sum used to stop its hour from being finalised."""
    try:
        return math.fsum(values)
    except (ValueError, OverflowError):
        return sum(values, 0.0)


def percentile(sorted_values: list[float], q: float) -> float:
    n = len(sorted_values)
    pos = (n - 1) * q
    lo = int(pos)
    hi = lo + 1 if lo + 1 < n else lo
    a = sorted_values[lo]
    return a + (sorted_values[hi] - a) * (pos - lo)


def summarizer(stats: Iterable[str]) -> Callable[..., dict]:
    """A function computing the requested statistics of one non-empty period.

    Built once per query: a 7-day query at 1-minute periods calls it 10,080 times, so the
    choice of statistics is resolved here rather than per period.
    """
    stats = tuple(stats)
    fsum = total
    simple: dict[str, Callable[[list[float]], float | int]] = {
        "count": len,
        "sum": fsum,
        "avg": lambda v: fsum(v) / len(v),
        "min": min,
        "max": max,
    }
    plain = tuple((s, simple[s]) for s in stats if s in simple)  # `last` needs the times: not here
    ranked = tuple((s, _PERCENTILES[s]) for s in stats if s in _PERCENTILES)

    def summarize(values: list[float], **fields: object) -> dict:
        out: dict = fields
        for name, fn in plain:
            out[name] = fn(values)
        if ranked:
            ordered = sorted(values)
            for name, q in ranked:
                out[name] = percentile(ordered, q)
        return out

    return summarize


def summarize(values: list[float], stats: Iterable[str]) -> dict[str, float | int]:
    return summarizer(stats)(values)


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
