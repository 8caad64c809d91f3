"""The in-memory head of the SQLite store: one series' points not yet flushed into chunks."""

from __future__ import annotations

from bisect import bisect_left

from weir.metrics.points import sorted_unique, trim


class HeadSeries:
    """One series' unflushed points, in arrival order, and whether that order is by time.

    Most series receive points in time order; for them a query bisects the lists and
    copies only its window, instead of copying and sorting everything since the last flush.
    """

    __slots__ = ("ts", "vals", "ordered")

    def __init__(self, t: int, v: float) -> None:
        self.ts = [t]
        self.vals = [v]
        self.ordered = True

    def sorted_unique(self) -> tuple[list[int], list[float]]:
        return (self.ts, self.vals) if self.ordered else sorted_unique(self.ts, self.vals)

    def window(self, start: int, end: int) -> tuple[list[int], list[float]]:
        """A copy of the points in [start, end), sorted, one per timestamp."""
        if self.ordered:
            lo, hi = bisect_left(self.ts, start), bisect_left(self.ts, end)
            return self.ts[lo:hi], self.vals[lo:hi]
        return trim(*sorted_unique(list(self.ts), list(self.vals)), start, end)
