"""The SQLite store's process-local state: the in-memory head of unflushed points (and the
head a flush is moving, `flush.py`), and hour spans for rollup coverage. The lock that keeps
a second process off the folder is `folder_lock`'s."""

from __future__ import annotations

from bisect import bisect_left

from weir.metrics.points import Run, merge, sorted_unique, trim

from .schema import HOUR_NS


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


def window(heads: tuple[dict[int, HeadSeries], ...], sid: int, start: int, end: int) -> Run | None:
    """The series' unflushed points in [start, end) over `heads` given oldest first (the head
    a flush is moving, then the head): a later head's point wins at an equal timestamp."""
    parts = []
    for head in heads:
        entry = head.get(sid)
        if entry is not None:
            part = entry.window(start, end)
            if part[0]:
                parts.append(part)
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else merge(parts, each_sorted=True)


def count(heads: tuple[dict[int, HeadSeries], ...], sid: int, start: int, end: int) -> int:
    """At most how many points of the series `heads` hold in [start, end) (no copy, no sort)."""
    total = 0
    for head in heads:
        entry = head.get(sid)
        if entry is not None:
            ts = entry.ts
            total += bisect_left(ts, end) - bisect_left(ts, start) if entry.ordered else len(ts)
    return total


def spans(first: int, end: int, busy: set[int]) -> list[tuple[int, int]]:
    """The hours in [first, end) not in `busy`, as sorted [start, end) spans."""
    out: list[tuple[int, int]] = []
    for hour in range(first, end, HOUR_NS):
        if hour in busy:
            continue
        if out and out[-1][1] == hour:
            out[-1] = (out[-1][0], hour + HOUR_NS)
        else:
            out.append((hour, hour + HOUR_NS))
    return out
