"""The in-memory head of the SQLite store: one series' points not yet flushed into chunks, and
the lock that keeps a second process from holding a head over the same data folder."""

from __future__ import annotations

import fcntl
from bisect import bisect_left
from pathlib import Path

from weir.errors import StorageError
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


def exclusive(path: Path):
    """Hold an exclusive lock for the store's lifetime: the head lives in this process's
    memory, so a second writer on the same folder would replay and flush the same log."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StorageError(
            f"{path.parent} is in use by another Weir process; stop it or choose another --data-dir"
        ) from None
    return handle
