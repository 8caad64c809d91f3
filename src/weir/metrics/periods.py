"""Statistics per (group, period) folded from raw point arrays and rollup records.

The query path's arithmetic, with array operations throughout: raw points are cut into
runs (one series, one period) with `reduceat`, rollup records are runs already, and runs
fold into cells with unbuffered `ufunc.at`. Both kinds of input fold into the same cells,
so a period can mix hours answered from rollups with edges answered from points.

- count, min and max are exact whatever the mix; sum and avg add per-run sums, which can
  differ from one long sum by float rounding (never for integers below 2**53).
- last is the value of the latest point; at equal times the series listed last (by key)
  wins, as in the alerts' `last`.
- p50/p90/p99 interpolate between closest ranks over the exact values, like
  `aggregate.percentile`; where a cell also has sketches (hours past the raw retention),
  its values join the sketch and the result is an estimate (`weir.metrics.sketch`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weir.metrics.arrays import SeriesArrays
from weir.metrics.sketch import Sketch

PERCENTILES = {"p50": 0.50, "p90": 0.90, "p99": 0.99}
_I64 = np.int64
_NO_TIME = np.iinfo(np.int64).min


@dataclass(slots=True)
class Runs:
    """Pre-aggregated runs of points, one cell each (rollup records are runs too)."""

    cells: np.ndarray
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    last_ts: np.ndarray
    last_rank: np.ndarray
    last: np.ndarray


class PeriodFold:
    def __init__(self, n_groups: int, start: int, period: int, n_periods: int, stats: list[str]) -> None:
        self.start, self.period, self.n_periods = start, period, n_periods
        self.stats = stats
        cells = n_groups * n_periods
        self.count = np.zeros(cells, dtype=_I64)
        self.sum = np.zeros(cells)
        self.min = np.full(cells, np.inf)
        self.max = np.full(cells, -np.inf)
        self.last_ts = np.full(cells, _NO_TIME, dtype=_I64)
        self.last_rank = np.full(cells, -1, dtype=_I64)
        self.last = np.full(cells, np.nan)
        self.ranked = [s for s in stats if s in PERCENTILES]
        self._values: list[tuple[np.ndarray, np.ndarray]] = []
        self.sketches: dict[int, Sketch] = {}

    @property
    def held_values(self) -> int:
        """Values kept for exact percentiles so far."""
        return sum(len(v) for _, v in self._values)

    @property
    def estimated(self) -> bool:
        return bool(self.sketches) and bool(self.ranked)

    def _cells(self, groups: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = (ts - self.start) // self.period
        inside = (p >= 0) & (p < self.n_periods)
        return groups * self.n_periods + p, inside

    def add_points(self, block: SeriesArrays, groups: np.ndarray, ranks: np.ndarray) -> None:
        """Raw points of the block's series; `groups`/`ranks` are per series of the block."""
        n = block.points
        if not n:
            return
        owner = np.repeat(np.arange(len(block.ids)), block.lens)
        ts, vals = block.ts, block.vals
        cells, inside = self._cells(groups[owner], ts)
        if not inside.all():
            cells, ts, vals, owner = cells[inside], ts[inside], vals[inside], owner[inside]
            n = len(cells)
            if not n:
                return
        edge = np.empty(n, dtype=bool)
        edge[0] = True
        np.not_equal(cells[1:], cells[:-1], out=edge[1:])
        edge[1:] |= owner[1:] != owner[:-1]  # a run never spans two series
        starts = np.flatnonzero(edge)
        ends = np.empty_like(starts)
        ends[:-1] = starts[1:]
        ends[-1] = n
        last = ends - 1
        self.fold(Runs(
            cells[starts], ends - starts, np.add.reduceat(vals, starts), np.minimum.reduceat(vals, starts),
            np.maximum.reduceat(vals, starts), ts[last], ranks[owner[starts]], vals[last],
        ))
        if self.ranked:
            self._values.append((cells, vals))

    def add_records(self, groups: np.ndarray, ranks: np.ndarray, t: np.ndarray, count: np.ndarray,
                    total: np.ndarray, lo: np.ndarray, hi: np.ndarray, last_ts: np.ndarray,
                    last: np.ndarray) -> None:
        """Rollup records (each of one series and one minute or hour starting at `t`)."""
        cells, inside = self._cells(groups, t)
        k = inside
        self.fold(Runs(cells[k], count[k], total[k], lo[k], hi[k], last_ts[k], ranks[k], last[k]))

    def add_sketches(self, groups: list[int], t: list[int], sketches: list[Sketch]) -> None:
        """Sketches of rollup records, for percentiles where the points have expired."""
        for g, ts, s in zip(groups, t, sketches):
            p = (ts - self.start) // self.period
            if 0 <= p < self.n_periods:
                cell = g * self.n_periods + p
                got = self.sketches.get(cell)
                if got is None:
                    self.sketches[cell] = got = Sketch()
                got.merge(s)

    def fold(self, r: Runs) -> None:
        if not len(r.cells):
            return
        np.add.at(self.count, r.cells, r.count)
        np.add.at(self.sum, r.cells, r.sum)
        np.minimum.at(self.min, r.cells, r.min)
        np.maximum.at(self.max, r.cells, r.max)
        if "last" in self.stats:
            order = np.lexsort((r.last_rank, r.last_ts, r.cells))
            cells = r.cells[order]
            final = np.empty(len(cells), dtype=bool)
            final[-1] = True
            np.not_equal(cells[1:], cells[:-1], out=final[:-1])
            pick = order[final]
            cells = r.cells[pick]
            ts, rank = r.last_ts[pick], r.last_rank[pick]
            cur_ts, cur_rank = self.last_ts[cells], self.last_rank[cells]
            better = (ts > cur_ts) | ((ts == cur_ts) & (rank >= cur_rank))
            cells = cells[better]
            self.last_ts[cells] = ts[better]
            self.last_rank[cells] = rank[better]
            self.last[cells] = r.last[pick][better]

    # -- results ---------------------------------------------------------------------

    def columns(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(non-empty cells, stat → one value per such cell)."""
        cells = np.flatnonzero(self.count)
        count = self.count[cells]
        out: dict[str, np.ndarray] = {}
        for s in self.stats:
            if s == "count":
                out[s] = count
            elif s == "sum":
                out[s] = self.sum[cells]
            elif s == "avg":
                out[s] = self.sum[cells] / count
            elif s == "min":
                out[s] = self.min[cells]
            elif s == "max":
                out[s] = self.max[cells]
            elif s == "last":
                out[s] = self.last[cells]
        if self.ranked:
            out.update(self._percentiles(cells))
        return cells, out

    def _percentiles(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        out = {s: np.full(len(cells), np.nan) for s in self.ranked}
        if self._values:
            vcells = np.concatenate([c for c, _ in self._values])
            vals = np.concatenate([v for _, v in self._values])
            order = np.lexsort((vals, vcells))
            vals, vcells = vals[order], vcells[order]
            n_all = np.bincount(vcells, minlength=len(self.count))
            start_all = np.cumsum(n_all) - n_all
            n, first = n_all[cells], start_all[cells]
            has = n > 0
            n, first = n[has], first[has]
            for s in self.ranked:
                pos = (n - 1).astype(np.float64) * PERCENTILES[s]
                lo = pos.astype(_I64)
                hi = np.where(lo + 1 < n, lo + 1, lo)
                a = vals[first + lo]
                b = vals[first + hi]
                out[s][has] = a + (b - a) * (pos - lo)
        if self.sketches:
            index = {int(c): i for i, c in enumerate(cells.tolist())}
            by_cell: dict[int, list[float]] = {}
            if self._values:
                wanted = np.isin(vcells, np.fromiter(self.sketches, dtype=_I64))
                for c, v in zip(vcells[wanted].tolist(), vals[wanted].tolist()):
                    by_cell.setdefault(c, []).append(v)
            for cell, sketch in self.sketches.items():
                if cell not in index:
                    continue
                merged = Sketch()
                merged.merge(sketch)
                merged.add_all(by_cell.get(cell, ()))
                for s in self.ranked:
                    out[s][index[cell]] = merged.quantile(PERCENTILES[s])
        return out
