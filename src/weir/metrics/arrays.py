"""Points of many series as numpy arrays: what the one read path hands to its consumers.

The store decodes chunks in bulk (`weir.metrics.encoding.bulk`) into one timestamp array
and one value array for all the series it read, and `SeriesArrays` keeps them that way:
series i owns `lens[i]` consecutive points. Weir's query API folds the whole block with
array operations (`weir.metrics.query.fold`); PromQL takes per-series views (`items()`), which copy
nothing. Imported on the query path only (numpy).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

_I64 = np.int64


@dataclass(slots=True)
class SeriesArrays:
    """Sorted, unique points in a time range of several series, concatenated.

    `ids[i]` owns `lens[i]` points from `offsets[i]`; every series listed has at least one.
    Timestamps are int64 nanoseconds, values float64.
    """

    ids: np.ndarray
    lens: np.ndarray
    ts: np.ndarray
    vals: np.ndarray

    @classmethod
    def empty(cls) -> SeriesArrays:
        return cls(np.empty(0, _I64), np.empty(0, _I64), np.empty(0, _I64), np.empty(0, np.float64))

    @property
    def offsets(self) -> np.ndarray:
        return np.cumsum(self.lens) - self.lens

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def points(self) -> int:
        return len(self.ts)

    def items(self) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
        """(series id, timestamps, values) per series: views, not copies."""
        o = 0
        for sid, n in zip(self.ids.tolist(), self.lens.tolist()):
            yield sid, self.ts[o : o + n], self.vals[o : o + n]
            o += n

    def to_lists(self) -> dict[int, tuple[list[int], list[float]]]:
        """The `MetricStore.read` shape, for callers that want Python lists."""
        return {sid: (t.tolist(), v.tolist()) for sid, t, v in self.items()}

    @classmethod
    def from_series(cls, parts: list[tuple[int, np.ndarray, np.ndarray]]) -> SeriesArrays:
        parts = [p for p in parts if len(p[1])]
        if not parts:
            return cls.empty()
        return cls(
            np.array([p[0] for p in parts], dtype=_I64),
            np.array([len(p[1]) for p in parts], dtype=_I64),
            np.concatenate([p[1] for p in parts]).astype(_I64, copy=False),
            np.concatenate([p[2] for p in parts]).astype(np.float64, copy=False),
        )

    @classmethod
    def concat(cls, blocks: list[SeriesArrays]) -> SeriesArrays:
        blocks = [b for b in blocks if len(b)]
        if not blocks:
            return cls.empty()
        if len(blocks) == 1:
            return blocks[0]
        return cls(*(np.concatenate([getattr(b, f) for b in blocks]) for f in ("ids", "lens", "ts", "vals")))


def latest_wins(ts: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort points given in write order by time; of equal timestamps the last written wins."""
    if len(ts) < 2 or bool((ts[1:] > ts[:-1]).all()):
        return ts, vals
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    keep = np.empty(len(ts), dtype=bool)
    keep[-1] = True
    np.not_equal(ts[1:], ts[:-1], out=keep[:-1])
    return ts[keep], vals[keep]


def trim(block: SeriesArrays, start: int, end: int) -> SeriesArrays:
    """Only the points in [start, end); series left without points are dropped.

    Each series is sorted, so its earliest and latest points are at its ends: whether
    anything is cut is known from the series, not from every point."""
    ts = block.ts
    if not len(ts):
        return block
    firsts = np.cumsum(block.lens) - block.lens
    has_points = block.lens > 0
    if int(ts[firsts[has_points]].min()) >= start and int(ts[(firsts + block.lens - 1)[has_points]].max()) < end:
        return block
    keep = (ts >= start) & (ts < end)
    kept = np.zeros(len(ts) + 1, dtype=_I64)
    np.cumsum(keep, out=kept[1:])
    lens = kept[firsts + block.lens] - kept[firsts]
    has = lens > 0
    return SeriesArrays(block.ids[has], lens[has], ts[keep], block.vals[keep])


_RECORD_COLUMNS = ("sid", "t", "count", "sum", "min", "max", "last_ts", "last")


@dataclass(slots=True)
class RollupBlock:
    """Rollup records a store answered with: their level (`1m`, `1h`), the time spans they
    cover, and one record per (series, minute or hour) as columns (`sid`, `t`, `count`,
    `sum`, `min`, `max`, `last_ts`, `last`; see `weir.metrics.records`).

    Within a covered span the records hold every stored point of their series: the
    caller reads raw points only outside the spans. Minute records cover hours whose raw
    points have expired, so they never overlap raw points either.
    """

    level: str
    covered: list[tuple[int, int]]
    cols: dict[str, np.ndarray]

    @classmethod
    def empty(cls, level: str) -> RollupBlock:
        cols = {c: np.empty(0, dtype=np.float64 if c in ("sum", "min", "max", "last") else _I64)
                for c in _RECORD_COLUMNS}
        return cls(level, [], cols)

    def __len__(self) -> int:
        return len(self.cols["t"])

    @property
    def points(self) -> int:
        return int(self.cols["count"].sum())

    def only(self, spans: list[tuple[int, int]]) -> RollupBlock:
        """Just the records starting within these spans."""
        t = self.cols["t"]
        keep = np.zeros(len(t), dtype=bool)
        for a, b in spans:
            keep |= (t >= a) & (t < b)
        if keep.all():  # the usual case: every record is in (no copy of each column)
            return RollupBlock(self.level, spans, self.cols)
        return RollupBlock(self.level, spans, {k: v[keep] for k, v in self.cols.items()})


@dataclass(slots=True)
class HourStarts:
    """What a store answers for PromQL's hourly windows (`weir.promql.hourly`): hourly
    records (`records.covered`: the finalised hours, where the records hold every point),
    and the point each covered hour holds in its first millisecond, by series (`sid`, `t`
    in ns, `v`): a closed window [t - range, t] ends on it."""

    records: RollupBlock
    sid: np.ndarray
    t: np.ndarray
    v: np.ndarray
