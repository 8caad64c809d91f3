"""Per-minute rollups: count, sum, min and max of one series in each minute. No I/O.

A rollup is what a query for `count,sum,avg,min,max` needs from a minute, so a store can
answer such queries over compacted hours without reading the points: a series writing
every 10 s shrinks 6-fold, one writing every second 60-fold. Percentiles need the points
themselves and are never answered from rollups.

Rollups are exact for count, min and max. A minute's sum is `math.fsum` of its points and
a period's sum adds minute sums, so a sum may differ from the raw path's single `fsum`
by float rounding (never for integer values below 2**53).
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

from weir.metrics.aggregate import total
from weir.metrics.timeutil import NS

MINUTE_NS = 60 * NS
ROLLUP_STATS = frozenset({"count", "sum", "avg", "min", "max"})


@dataclass(slots=True)
class Minutes:
    """One series' rollups: parallel lists, sorted by minute start (ns), one per non-empty minute."""

    ts: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    sum: list[float] = field(default_factory=list)
    min: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts)

    def points(self) -> int:
        return sum(self.count)

    def extend(self, other: Minutes) -> None:
        """Append later minutes (callers add hours in order)."""
        self.ts += other.ts
        self.count += other.count
        self.sum += other.sum
        self.min += other.min
        self.max += other.max


def build_minutes(ts: list[int], vals: list[float]) -> Minutes:
    """Rollups of sorted, unique points (what a compacted chunk holds)."""
    out = Minutes()
    i, n = 0, len(ts)
    while i < n:
        minute = ts[i] - ts[i] % MINUTE_NS
        j = bisect_left(ts, minute + MINUTE_NS, i)
        v = vals[i:j]
        out.ts.append(minute)
        out.count.append(j - i)
        out.sum.append(total(v))
        out.min.append(min(v))
        out.max.append(max(v))
        i = j
    return out


def usable(stats: list[str], period_ns: int) -> bool:
    """Whether rollups can answer a query: every statistic is exact from them, and every
    period is made of whole minutes (query periods start at multiples of the period)."""
    return period_ns % MINUTE_NS == 0 and all(s in ROLLUP_STATS for s in stats)


class PeriodTotals:
    """Per period index, the running [count, sum, min, max] of everything folded in.

    Raw points and rollups fold into the same totals, so a period can mix hours answered
    from rollups with hours (or edges) answered from points.
    """

    __slots__ = ("start", "period", "n_periods", "totals")

    def __init__(self, start: int, period: int, n_periods: int) -> None:
        self.start, self.period, self.n_periods = start, period, n_periods
        self.totals: dict[int, list] = {}

    def _fold(self, i: int, count: int, total: float, lo: float, hi: float) -> None:
        t = self.totals.get(i)
        if t is None:
            self.totals[i] = [count, total, lo, hi]
        else:
            t[0] += count
            t[1] += total
            if lo < t[2]:
                t[2] = lo
            if hi > t[3]:
                t[3] = hi

    def add_points(self, ts: list[int], vals: list[float]) -> None:
        """Sorted points of one series."""
        start, period = self.start, self.period
        end = start + self.n_periods * period
        lo = bisect_left(ts, start)
        stop = bisect_left(ts, end, lo)
        while lo < stop:
            i = (ts[lo] - start) // period
            hi = bisect_left(ts, start + (i + 1) * period, lo, stop)
            v = vals[lo:hi]
            self._fold(i, hi - lo, total(v), min(v), max(v))
            lo = hi

    def add_minutes(self, m: Minutes) -> None:
        start, period = self.start, self.period
        end = start + self.n_periods * period
        fold, ts = self._fold, m.ts
        lo, stop = bisect_left(ts, start), bisect_left(ts, end)
        if period == MINUTE_NS:  # one minute per period: no slicing
            for k in range(lo, stop):
                fold((ts[k] - start) // period, m.count[k], m.sum[k], m.min[k], m.max[k])
            return
        while lo < stop:  # whole periods at once, with builtins over slices
            i = (ts[lo] - start) // period
            hi = bisect_left(ts, start + (i + 1) * period, lo, stop)
            fold(i, sum(m.count[lo:hi]), total(m.sum[lo:hi]), min(m.min[lo:hi]), max(m.max[lo:hi]))
            lo = hi

    def summaries(self, stats: list[str], first, step) -> list[dict]:
        """One dict per non-empty period, shaped like the raw path's (see query.py)."""
        out = []
        for i, (count, sums, lo, hi) in sorted(self.totals.items()):
            row: dict = {"timestamp": first + i * step}
            for s in stats:
                row[s] = {"count": count, "sum": sums, "avg": sums / count, "min": lo, "max": hi}[s]
            out.append(row)
        return out
