"""`*_over_time` over whole hours from hourly records, where that answers as the points would.

`avg_over_time(cpu[1h])` over a day at a 1 h step reads every point of every series and
decodes them all, where the store already keeps per series per finalised hour its count,
sum, min and max (`weir.metrics.records`): the "coarsest rollup that answers exactly" the
read path uses for Weir's own queries. A PromQL window [t - range, t] is closed at both ends
(Prometheus 2), so when t and the range are whole hours it is the hours [t - range, t) plus
the point at exactly t, the first of the next hour: finalising keeps each hour's first point
beside its record (`hourly_first`), so no chunk is decoded for it (`read_hours`).

Used for `count sum avg min max _over_time` when every window starts on an hour and spans
whole hours; the points answer otherwise, and also when any of these does not hold:

- the store keeps hourly records and has `read_hours` (SQLite; the DynamoDB store reads
  points);
- every finalised hour has its first record (hours finalised before schema 4 have none), and
  no hour holds two points of one millisecond (PromQL takes them as one sample, records
  count both);
- every record and point used is finite, and for sums and means every window's points share
  a sign: a sum of same-signed floats is within a few ulps however it is ordered, so the
  answer agrees with the point-by-point one to ~1e-15 relative; with cancellation it might
  not, and the points are read instead.

Hours not finalised (pending, or in the store's memory) are read as points and folded into
the same per-hour totals, as the read path does for Weir's own queries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from weir.promql import ast

HOUR_MS = 3_600_000
NS_PER_MS = 1_000_000
FUNCTIONS = frozenset({"count_over_time", "sum_over_time", "avg_over_time", "min_over_time", "max_over_time"})
_SIGNED = frozenset({"sum_over_time", "avg_over_time"})


@dataclass
class Hours:
    """Per series (row) and hour from `first_ms` (column): count, sum, min and max of the
    samples; and the sample at each hour's start, if any (`at`: present, `at_v`: value),
    for hour starts `first_ms + j h`, j = 0..columns (one more than the hours)."""

    labels: list[dict[str, str]]
    first_ms: int
    count: np.ndarray
    sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    at: np.ndarray
    at_v: np.ndarray
    loaded: int = 0  # points read where the records do not cover (for the sample budget)


def aligned(ends: np.ndarray, range_ms: int) -> bool:
    """Every window [end - range, end] is whole hours plus its end instant."""
    return range_ms > 0 and range_ms % HOUR_MS == 0 and not ((ends - range_ms) % HOUR_MS).any()


def matrix_selector(node: ast.Node) -> ast.MatrixSel | None:
    while isinstance(node, ast.Paren):
        node = node.expr
    return node if isinstance(node, ast.MatrixSel) else None


def gather(store, selected: list, first_ms: int, end_ms: int, max_samples: int | None) -> Hours | None:
    """The `Hours` of these series (`Series` of the store) for the hours in [first, end) and
    hour starts in [first, end]; None where the store cannot answer from records."""
    from weir.metrics.query.read import gaps, read_points
    from weir.promql.values import in_milliseconds

    read_hours = getattr(store, "read_hours", None)
    if read_hours is None or not selected:
        return None
    ids = sorted(s.id for s in selected)
    got = read_hours(ids, first_ms * NS_PER_MS, (end_ms + HOUR_MS) * NS_PER_MS)
    if got is None:
        return None
    columns = (end_ms - first_ms) // HOUR_MS
    sid_arr = np.array(ids, dtype=np.int64)
    shape = (len(ids), columns + 1)  # one more column: the hour starting at `end`
    count = np.zeros(shape, dtype=np.int64)
    total = np.zeros(shape)
    low, high = np.full(shape, np.inf), np.full(shape, -np.inf)
    at, at_v = np.zeros(shape, dtype=bool), np.zeros(shape)

    cols = got.records.cols
    if len(got.records):
        rows = np.searchsorted(sid_arr, cols["sid"])
        col = (cols["t"] // NS_PER_MS - first_ms) // HOUR_MS
        count[rows, col], total[rows, col] = cols["count"], cols["sum"]
        low[rows, col], high[rows, col] = cols["min"], cols["max"]
    if len(got.sid):
        rows, col = np.searchsorted(sid_arr, got.sid), (got.t // NS_PER_MS - first_ms) // HOUR_MS
        at[rows, col], at_v[rows, col] = True, got.v

    # what the records do not cover: hours not finalised, read as points (and the end's
    # instant, if its hour is one of them)
    loaded = 0
    first_ns, end_ns = first_ms * NS_PER_MS, end_ms * NS_PER_MS
    todo = gaps(first_ns, end_ns, [(a, min(b, end_ns)) for a, b in got.records.covered])
    if not any(a <= end_ns < b for a, b in got.records.covered):
        todo.append((end_ns, end_ns + NS_PER_MS))
    for a, b in todo:
        block = read_points(store, ids, a, b, None if max_samples is None else max_samples - loaded)
        if not len(block):
            continue
        loaded += block.points
        lens, t, v = in_milliseconds(block)
        rows = np.repeat(np.searchsorted(sid_arr, block.ids), lens)
        col = (t - first_ms) // HOUR_MS
        np.add.at(count, (rows, col), 1)
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: `windows` refuses it
            np.add.at(total, (rows, col), v)
        np.minimum.at(low, (rows, col), v)
        np.maximum.at(high, (rows, col), v)
        starts = t % HOUR_MS == 0
        at[rows[starts], col[starts]] = True
        at_v[rows[starts], col[starts]] = v[starts]
    by_id = {s.id: s for s in selected}
    labels = [{"__name__": by_id[sid].name, **by_id[sid].dimensions} for sid in ids]
    return Hours(labels, first_ms, count[:, :columns], total[:, :columns], low[:, :columns], high[:, :columns],
                 at, at_v, loaded)


def windows(name: str, h: Hours, ends: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(series × steps) values and presence of `name` over [end - range, end] per step;
    None where the records would not answer as the points do (see the module)."""
    span = range_ms // HOUR_MS
    a = (ends - range_ms - h.first_ms) // HOUR_MS  # each window's first hour (column)
    idx = np.empty(2 * len(a), dtype=np.int64)
    idx[0::2], idx[1::2] = a, a + span  # reduceat over [a, a + span); the odd results are unused

    def over(x: np.ndarray, op) -> np.ndarray:
        padded = np.concatenate([x, x[:, -1:]], axis=1)  # an index may be the last column's end
        return op.reduceat(padded, idx, axis=1)[:, 0::2]

    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: refused below
        n = over(h.count, np.add)
        s, lo, hi = over(h.sum, np.add), over(h.min, np.minimum), over(h.max, np.maximum)
        at, at_v = h.at[:, a + span], h.at_v[:, a + span]  # the sample at each window's end
        n = n + at
        s = s + np.where(at, at_v, 0.0)
        lo = np.where(at, np.fmin(lo, at_v), lo)
        hi = np.where(at, np.fmax(hi, at_v), hi)
    ok = n > 0
    if not (np.isfinite(s[ok]).all() and np.isfinite(lo[ok]).all() and np.isfinite(hi[ok]).all()):
        return None
    if name in _SIGNED and not ((lo[ok] >= 0) | (hi[ok] <= 0)).all():
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        value = {"count_over_time": n.astype(np.float64), "sum_over_time": s, "avg_over_time": s / np.maximum(n, 1),
                 "min_over_time": lo, "max_over_time": hi}[name]
    return np.where(ok, value, 0.0), ok


def evaluate(ev, name: str, node: ast.Node) -> tuple[list, np.ndarray, np.ndarray] | None:
    """(label sets, values, presence) of `name(node)` from hourly records, or None: the
    evaluator then reads the points. Label sets sorted as the evaluator's reads are.
    More stored points to read than the budget leaves: TooManyPointsError."""
    from weir.promql.values import labels_of

    sel = matrix_selector(node)
    store = getattr(ev.source, "store", None)  # `StoreSource`'s: other sources read points
    if name not in FUNCTIONS or sel is None or getattr(store, "read_hours", None) is None:
        return None
    ends = ev.ends(sel.sel.at, sel.sel.offset_ms)
    if not aligned(ends, sel.range_ms):
        return None
    h = gather(store, ev.source.select(sel.sel.matchers), int(ends.min()) - sel.range_ms, int(ends.max()),
               ev.budget.max_samples - ev.budget.loaded)
    if h is None:
        return None
    ev.budget.load(h.loaded)
    ev.budget.hold(h.count.size)
    got = windows(name, h, ends, sel.range_ms)
    if got is None:
        return None
    values, oks = got
    labels = [labels_of(d) for d in h.labels]
    order = sorted(range(len(labels)), key=labels.__getitem__)
    return [labels[i] for i in order], values[order], oks[order]
