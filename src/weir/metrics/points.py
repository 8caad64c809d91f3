"""Runs of points, pure: one sorted run per series from the writes that made it.

A run is `(timestamps, values)`, parallel lists. Both stores (SQLite's chunks and head,
DynamoDB's segments and chunks) and the read-only data-folder reader keep a series as
several runs written at different times, and read them back through these, so "the later
write of the same instant wins" means the same everywhere.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence

Run = tuple[list[int], list[float]]


def is_strictly_sorted(ts: list[int]) -> bool:
    return all(a < b for a, b in zip(ts, ts[1:]))


def sorted_unique(ts: list[int], vals: list[float]) -> Run:
    """Sort by time; of points with the same timestamp the last written wins."""
    if is_strictly_sorted(ts):
        return ts, vals
    latest = dict(zip(ts, vals))
    keys = sorted(latest)
    return keys, [latest[k] for k in keys]


def merge(runs: Sequence[Run], *, each_sorted: bool = False) -> Run:
    """One sorted run, one point per timestamp, from runs given oldest write first: at
    equal timestamps a later run's point wins.

    `each_sorted`: the caller knows every run is already sorted with one point per
    timestamp (SQLite's chunks and head), so that is not checked again. Runs that do not
    overlap in time are concatenated; otherwise the points are merged by timestamp.
    """
    if len(runs) == 1:
        return runs[0] if each_sorted else sorted_unique(*runs[0])
    present = sorted((r for r in runs if r[0]), key=lambda r: r[0][0])
    if all(a[0][-1] < b[0][0] for a, b in zip(present, present[1:])) and (
        each_sorted or all(is_strictly_sorted(r[0]) for r in present)
    ):
        ts: list[int] = []
        vals: list[float] = []
        for t, v in present:
            ts += t
            vals += v
        return ts, vals
    latest: dict[int, float] = {}
    for t, v in runs:  # oldest write first, so later writes win
        latest.update(zip(t, v))
    keys = sorted(latest)
    return keys, [latest[k] for k in keys]


def trim(ts: list[int], vals: list[float], start: int, end: int) -> Run:
    """The points of a sorted run in [start, end) (the run itself when all are)."""
    lo, hi = bisect_left(ts, start), bisect_left(ts, end)
    if lo == 0 and hi == len(ts):
        return ts, vals
    return ts[lo:hi], vals[lo:hi]
