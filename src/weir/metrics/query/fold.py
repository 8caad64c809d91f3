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

    def _index(self, ts):
        """The period of each timestamp: `(ts - start) // period` without forming `ts - start`,
        which overflows int64 when the range spans more than 292 years (1680 to 2260 is allowed)."""
        qs, rs = divmod(self.start, self.period)
        return ts // self.period - qs - (ts % self.period < rs)

    def _cells(self, groups: np.ndarray, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = self._index(ts)
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
        if self.ranked:  # kept until the end: int32 cells where they fit halve their memory
            self._values.append((cells.astype(np.int32) if len(self.count) < 2**31 else cells, vals))

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
            p = self._index(ts)
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
        vcells = vals = np.empty(0)
        if self._values:
            vcells = np.concatenate([c for c, _ in self._values])
            vals = np.concatenate([v for _, v in self._values])
            owners, got = _cell_percentiles(vcells, vals, [PERCENTILES[s] for s in self.ranked])
            index = np.searchsorted(cells, owners)  # owners are a subset of the non-empty cells
            for s, g in zip(self.ranked, got):
                out[s][index] = g
        if self.sketches:
            index_of = {int(c): i for i, c in enumerate(cells.tolist())}
            by_cell: dict[int, list[float]] = {}
            if len(vals):
                wanted = np.isin(vcells, np.fromiter(self.sketches, dtype=_I64))
                for c, v in zip(vcells[wanted].tolist(), vals[wanted].tolist()):
                    by_cell.setdefault(c, []).append(v)
            for cell, sketch in self.sketches.items():
                if cell not in index_of:
                    continue
                merged = Sketch()
                merged.merge(sketch)
                merged.add_all(by_cell.get(cell, ()))
                for s in self.ranked:
                    out[s][index_of[cell]] = merged.quantile(PERCENTILES[s])
        return out


def _group_by_cell(cells: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cells present ascending, their counts, the values grouped by cell in that order).

    Raw points arrive in runs of one cell (a series' points in one period), so only the
    runs are sorted, and each point is placed with one scatter: O(points) work.
    """
    n = len(cells)
    edge = np.empty(n, dtype=bool)
    edge[0] = True
    np.not_equal(cells[1:], cells[:-1], out=edge[1:])
    run_start = np.flatnonzero(edge)
    run_len = np.diff(np.append(run_start, n))
    run_cell = cells[run_start]
    order = np.argsort(run_cell, kind="stable")
    sorted_len = run_len[order]
    index = np.int32 if n < 2**31 else _I64  # half the memory traffic for the common case
    dest_start = np.empty(len(order), dtype=_I64)
    dest_start[order] = np.cumsum(sorted_len) - sorted_len
    dest = np.repeat((dest_start - run_start).astype(index), run_len)
    dest += np.arange(n, dtype=index)
    grouped = np.empty_like(vals)
    grouped[dest] = vals
    present = np.unique(run_cell)
    counts = np.bincount(np.searchsorted(present, run_cell), weights=run_len).astype(_I64)
    return present, counts, grouped


def _cell_percentiles(cells: np.ndarray, vals: np.ndarray, qs: list[float]) -> tuple[np.ndarray, list[np.ndarray]]:
    """(cells present ascending, per q the percentile of each), interpolated between the
    closest ranks exactly as `aggregate.percentile` does.

    Cells are handled in bulk by size class: every cell with 2**(k-1) < count <= 2**k
    becomes a row of a (cells x 2**k) matrix padded with +inf, so padding at most doubles
    the values and no Python loop runs per cell. Rows are partitioned at the ranks needed
    (one O(n) pass when the cells of a class hold equally many values), sorted otherwise.
    """
    present, counts, grouped = _group_by_cell(cells, vals)
    starts = np.cumsum(counts) - counts
    size = np.left_shift(1, np.ceil(np.log2(np.maximum(counts, 1))).astype(_I64))
    out = [np.empty(len(present)) for _ in qs]
    for k in np.unique(size).tolist():
        rows = np.flatnonzero(size == k)
        n = counts[rows]
        width = int(n[0])
        if bool((n == width).all()) and rows[-1] - rows[0] == len(rows) - 1:
            # consecutive cells of one size (periods of regular series): a reshape, no padding
            at = int(starts[rows[0]])
            m = grouped[at : at + width * len(rows)].reshape(len(rows), width).copy()
        else:
            cols = np.arange(k, dtype=_I64)
            real = cols < n[:, None]
            m = np.where(real, grouped[np.where(real, starts[rows][:, None] + cols, 0)], np.inf)
        ranks = []
        for q in qs:
            pos = (n - 1).astype(np.float64) * q
            lo = pos.astype(_I64)
            ranks.append((pos, lo, np.where(lo + 1 < n, lo + 1, lo)))
        kth = np.unique(np.concatenate([np.concatenate([lo, hi]) for _, lo, hi in ranks]))
        if len(kth) <= 16:
            m = np.partition(m, kth, axis=1)
        else:
            m.sort(axis=1)
        r = np.arange(len(rows))
        for o, (pos, lo, hi) in zip(out, ranks):
            a, b = m[r, lo], m[r, hi]
            o[rows] = a + (b - a) * (pos - lo)
    return present, out
