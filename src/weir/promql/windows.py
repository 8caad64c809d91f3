"""Range-vector functions (`rate`, `*_over_time`, ...): one value per series per step.

Each step looks at the window [end - range, end] (both ends included, as in Prometheus 2.42)
of a series' samples, where end is the step time (or the `@` time) minus the offset. The
windows' bounds come from one `searchsorted` per series; the common functions are then
computed for every step at once:

- count, last, present, changes, resets, irate/idelta and the counter-reset corrections of
  rate/increase from prefix counts and sums, exact;
- min/max from a sparse table (NaN only when the whole window is NaN, as Prometheus);
- sum/avg from double-double prefix sums of the finite values (see `Sums`: as accurate as
  the Kahan-Neumaier loop Prometheus runs per window), non-finite values counted apart so
  Inf and NaN come out as Prometheus gives them;
- the rest (deriv, predict_linear, stddev/stdvar, quantile, holt_winters) run Prometheus'
  sequential algorithm per window in Python floats, which give the same bits as Go's
  (`weir.promql.sequential`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from weir.promql.sequential import (
    deriv,
    holt_winters,
    predict_linear,
    quantile_over_time,
    stddev_over_time,
    stdvar_over_time,
)

Out = tuple[np.ndarray, np.ndarray]  # values, mask


def bounds(t: np.ndarray, ends: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of each window's first sample and one past its last."""
    lo = np.searchsorted(t, ends - range_ms, side="left")
    hi = np.searchsorted(t, ends, side="right")
    return lo, hi


class Batch:
    """Many series end to end, so that one numpy call covers every window of every series.

    Window bounds are found per series (a binary search in a small, cache-friendly array)
    and shifted to the concatenation. Windows never cross from one series into the next,
    so the functions below work on the concatenation unchanged (pair-based ones only pair
    samples inside a window). Row i is the series at `starts[i]`: rows need not be in the
    concatenation's order (`views`), so a store's block is used as read, not copied.
    """

    def __init__(self, ts: list[np.ndarray], vs: list[np.ndarray]) -> None:
        self.ts, self.vs = ts, vs
        self.t = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
        self.v = np.concatenate(vs) if vs else np.zeros(0)
        lengths = np.array([len(x) for x in ts], dtype=np.int64)
        self.starts = np.zeros(len(ts), dtype=np.int64)
        np.cumsum(lengths[:-1], out=self.starts[1:])

    @classmethod
    def views(cls, t: np.ndarray, v: np.ndarray, starts: np.ndarray, lens: np.ndarray) -> Batch:
        """Row i: the `lens[i]` samples of `t`, `v` from `starts[i]` (no copy)."""
        b = cls.__new__(cls)
        b.t, b.v = t, v
        b.starts = np.asarray(starts, dtype=np.int64)
        spans = list(zip(b.starts.tolist(), np.asarray(lens).tolist()))
        b.ts = [t[a : a + n] for a, n in spans]
        b.vs = [v[a : a + n] for a, n in spans]
        return b

    def __len__(self) -> int:
        return len(self.ts)

    def rows(self, first: int, last: int) -> Batch:
        """Rows [first, last) as a batch of their own (all of them: this one)."""
        if first == 0 and last >= len(self.ts):
            return self
        return Batch(self.ts[first:last], self.vs[first:last])

    def _search(self, times: np.ndarray, side: str) -> np.ndarray:
        out = np.empty((len(self.ts), len(times)), dtype=np.int64)
        for i, t in enumerate(self.ts):
            out[i] = np.searchsorted(t, times, side=side)  # type: ignore[call-overload]
        out += self.starts[:, None]
        return out

    def bounds(self, ends: np.ndarray, range_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """(series × steps) index of each window's first sample and one past its last."""
        return self._search(ends - range_ms, "left"), self._search(ends, "right")

    def at_or_before(self, refs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(series × steps) index of the last sample at or before each time, and where one exists."""
        idx = self._search(refs, "right") - 1
        return np.maximum(idx, 0), idx >= self.starts[:, None]


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.zeros(len(x) + 1, dtype=x.dtype if x.dtype.kind == "f" else np.int64)
    np.cumsum(x, out=out[1:])
    return out


class Sums:
    """Prefix sums as double-doubles: `p` the float running sums, `e` the running sum of the
    rounding error of each addition (exact, by TwoSum). A window's sum (p[b] - p[a]) + (e[b] -
    e[a]) is then off by a few ulps of the window's own sum plus about 1e-32 of the running
    total: as accurate as Prometheus' Kahan loop over the window unless the window's sum is
    some 1e16 times smaller than the values before it."""

    def __init__(self, x: np.ndarray) -> None:
        # TwoSum of each running addition a + x = s, in place: two temporaries, not five
        # (at millions of samples the allocations cost more than the arithmetic)
        p = np.empty(len(x) + 1)
        p[0] = 0.0
        np.cumsum(x, out=p[1:])
        a, s = p[:-1], p[1:]
        e = np.empty(len(x) + 1)
        e[0] = 0.0
        err = e[1:]
        with np.errstate(invalid="ignore", over="ignore"):
            bb = np.subtract(s, a)
            np.subtract(s, bb, out=err)
            np.subtract(a, err, out=err)  # a - (s - bb)
            np.subtract(x, bb, out=bb)  # x - bb
            np.add(err, bb, out=err)
        if len(x) and not np.isfinite(p[-1]):  # an overflow: its "errors" are not numbers
            err[~np.isfinite(err)] = 0.0
        np.cumsum(err, out=err)
        self.p, self.e = p, e

    def window(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (self.p[b] - self.p[a]) + (self.e[b] - self.e[a])


def _pairs(flags: np.ndarray, lo: np.ndarray, hi: np.ndarray, prev: np.ndarray | None = None) -> np.ndarray:
    """The sum over the pairs (i-1, i) inside each window [lo, hi), i.e. lo < i < hi, of
    flags[i] (times prev[i - 1]: a counter's value before its reset).

    Summed over the flagged pairs only: they are few (resets, changes of a slow gauge, and
    the pairs across two series, which no window holds), so the usual answer, no flagged
    pair in any window, costs two binary searches. Leaving the zeros out changes no bit
    of a sum (adding 0.0 is exact)."""
    at = np.flatnonzero(flags[1:]) + 1
    if not len(at):
        return np.zeros(len(lo))
    a = np.searchsorted(at, lo, side="right")  # the first flagged pair after lo
    b = np.maximum(np.searchsorted(at, hi, side="left"), a)  # one past the last before hi
    if (a == b).all():
        return np.zeros(len(lo))
    x = np.ones(len(at)) if prev is None else prev[at - 1].astype(np.float64)
    return Sums(x).window(a, b)


def count_over_time(t, v, lo, hi, **_) -> Out:
    n = hi - lo
    return n.astype(np.float64), n > 0


def present_over_time(t, v, lo, hi, **_) -> Out:
    n = hi - lo
    return np.ones(len(n)), n > 0


def last_over_time(t, v, lo, hi, **_) -> Out:
    ok = hi > lo
    return v[np.where(ok, hi - 1, 0)] if len(v) else np.zeros(len(lo)), ok


def _cuts(lo: np.ndarray, hi: np.ndarray, size: int):
    """The non-empty windows' bounds as runs of segments: (which windows, the segments'
    first indexes, each window's first segment and one past its last). Segments are the
    samples cut at every window's first and one-past-last index: no window splits one."""
    ok = hi > lo
    a, b = lo[ok], hi[ok]
    cuts = np.concatenate((a, b))
    cuts.sort()  # distinct by comparing neighbours: np.unique hashes first, ~5x slower here
    if len(cuts):
        cuts = cuts[np.concatenate(([True], cuts[1:] != cuts[:-1]))]
    if len(cuts) and cuts[-1] == size:
        cuts = cuts[:-1]
    return ok, cuts, np.searchsorted(cuts, a), np.searchsorted(cuts, b)


def _segment_sums(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """Window sums from segment sums, when windows are few beside the samples (a step as long
    as the range: an hour's 360 samples a window), or None.

    Each segment is summed in one `reduceat` pass, sequentially, so off by at most
    (n - 1) * 2**-53 * sum(|x|) (the classic bound; 2**-52 here, for margin); the segments
    of a window are then added as double-doubles (`Sums`). Used only where that bound is
    within 1e-13 of every window's sum (no cancellation to speak of); otherwise None, and
    the caller takes the double-double prefix sums over every sample."""
    ok, cuts, sa, sb = _cuts(lo, hi, len(v))
    if not len(cuts) or 8 * len(cuts) > len(v):
        return None
    seg = np.add.reduceat(v, cuts)
    mag = seg if v.min() >= 0 else np.add.reduceat(np.abs(v), cuts)  # |v| = v: no pass for it
    n = np.diff(cuts, append=len(v))
    bound = _prefix((n - 1) * 2.0**-52 * mag)
    win = Sums(seg).window(sa, sb)
    with np.errstate(invalid="ignore"):
        if not (bound[sb] - bound[sa] <= 1e-13 * np.abs(win)).all():
            return None
    out = np.zeros(len(lo))
    out[ok] = win
    return out


def _sum_parts(v: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    finite = np.isfinite(v)
    if finite.all():
        zero = np.zeros(len(lo), dtype=np.int64)
        fast = _segment_sums(v, lo, hi)
        return (Sums(v).window(lo, hi) if fast is None else fast), zero, zero, zero
    s = Sums(np.where(finite, v, 0.0)).window(lo, hi)
    pinf = _prefix(v == np.inf)
    ninf = _prefix(v == -np.inf)
    nan = _prefix(np.isnan(v))
    return s, pinf[hi] - pinf[lo], ninf[hi] - ninf[lo], nan[hi] - nan[lo]


def _non_finite(s: np.ndarray, pinf, ninf, nan) -> np.ndarray:
    out = np.where(pinf > 0, np.inf, s)
    out = np.where(ninf > 0, -np.inf, out)
    return np.where((nan > 0) | ((pinf > 0) & (ninf > 0)), np.nan, out)


def sum_over_time(t, v, lo, hi, **_) -> Out:
    s, pinf, ninf, nan = _sum_parts(v, lo, hi)
    return _non_finite(s, pinf, ninf, nan), hi > lo


def avg_over_time(t, v, lo, hi, **_) -> Out:
    s, pinf, ninf, nan = _sum_parts(v, lo, hi)
    n = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s / np.maximum(n, 1)
    return _non_finite(mean, pinf, ninf, nan), n > 0


def _sparse(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, op) -> np.ndarray:
    """`op` (fmax or fmin) over each window [lo, hi).

    The samples are cut at every window's first and one-past-last index into segments,
    reduced in one `reduceat` pass; a window is then a run of whole segments, answered by
    a sparse table over the segments (level j holds op over runs of 2**j segments; a run
    of L is op of two overlapping runs of 2**floor(log2 L)). With few windows per series
    (a step as long as the range: windows share at most their edge sample) the table is a
    couple of levels over a few segments per window, not a pass per level over every sample.
    fmax/fmin are exact and associative (NaN only where every sample is NaN, as Prometheus).
    """
    out = np.zeros(len(lo))
    if not len(v) or not (hi > lo).any():
        return out
    ok, cuts, sa, sb = _cuts(lo, hi, len(v))
    seg = op.reduceat(v, cuts)  # segment k: v[cuts[k]:cuts[k + 1]]; a window: segments [sa, sb)
    span = sb - sa
    answer = np.empty(len(sa))
    table, width, level = seg, 1, 0
    k = np.floor(np.log2(span)).astype(np.intp)
    top = int(k.max())
    while True:
        sel = k == level
        if sel.any():
            answer[sel] = op(table[sa[sel]], table[sb[sel] - width])
        if level == top:
            break
        table = op(table[:-width], table[width:])
        width *= 2
        level += 1
    out[ok] = answer
    return out


def max_over_time(t, v, lo, hi, **_) -> Out:
    return _sparse(v, lo, hi, np.fmax), hi > lo


def min_over_time(t, v, lo, hi, **_) -> Out:
    return _sparse(v, lo, hi, np.fmin), hi > lo


def changes(t, v, lo, hi, **_) -> Out:
    if len(v) < 2:
        return np.zeros(len(lo)), hi > lo
    flags = np.zeros(len(v), dtype=bool)
    a, b = v[:-1], v[1:]
    flags[1:] = (a != b) & ~(np.isnan(a) & np.isnan(b))
    return _pairs(flags, lo, hi), hi > lo


def resets(t, v, lo, hi, **_) -> Out:
    if len(v) < 2:
        return np.zeros(len(lo)), hi > lo
    flags = np.zeros(len(v), dtype=bool)
    flags[1:] = v[1:] < v[:-1]
    return _pairs(flags, lo, hi), hi > lo


def _instant(t, v, lo, hi, is_rate: bool) -> Out:
    ok = (hi - lo) >= 2
    last = np.where(ok, hi - 1, 1)
    prev = last - 1
    if len(v) < 2:
        return np.zeros(len(lo)), np.zeros(len(lo), dtype=bool)
    vl, vp = v[last], v[prev]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        if is_rate:
            result = np.where(vl < vp, vl, vl - vp)
            result = result / ((t[last] - t[prev]).astype(np.float64) / 1000)
        else:
            result = vl - vp
    return result, ok


def irate(t, v, lo, hi, **_) -> Out:
    return _instant(t, v, lo, hi, True)


def idelta(t, v, lo, hi, **_) -> Out:
    return _instant(t, v, lo, hi, False)


def _extrapolated(t, v, lo, hi, ends, range_ms, is_counter: bool, is_rate: bool) -> Out:
    n = hi - lo
    ok = n >= 2
    if len(v) < 2:
        return np.zeros(len(lo)), np.zeros(len(lo), dtype=bool)
    first = np.where(ok, lo, 0)
    last = np.where(ok, hi - 1, 1)
    v0, v1 = v[first], v[last]
    result = v1 - v0
    if is_counter:
        flags = np.zeros(len(v), dtype=bool)
        flags[1:] = v[1:] < v[:-1]
        result = result + _pairs(flags, lo, hi, v)
    range_start = ends - range_ms
    t0, t1 = t[first], t[last]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        to_start = (t0 - range_start).astype(np.float64) / 1000
        to_end = (ends - t1).astype(np.float64) / 1000
        sampled = (t1 - t0).astype(np.float64) / 1000
        average = sampled / (n - 1).astype(np.float64)
        if is_counter:
            to_zero = sampled * (v0 / result)
            use_zero = (result > 0) & (v0 >= 0) & (to_zero < to_start)
            to_start = np.where(use_zero, to_zero, to_start)
        threshold = average * 1.1
        interval = sampled + np.where(to_start < threshold, to_start, average / 2)
        interval = interval + np.where(to_end < threshold, to_end, average / 2)
        factor = interval / sampled
        if is_rate:
            factor = factor / (range_ms / 1000)
        return result * factor, ok


def rate(t, v, lo, hi, ends, range_ms, **_) -> Out:
    return _extrapolated(t, v, lo, hi, ends, range_ms, True, True)


def increase(t, v, lo, hi, ends, range_ms, **_) -> Out:
    return _extrapolated(t, v, lo, hi, ends, range_ms, True, False)


def delta(t, v, lo, hi, ends, range_ms, **_) -> Out:
    return _extrapolated(t, v, lo, hi, ends, range_ms, False, False)


FUNCTIONS: dict[str, Callable[..., Out]] = {
    "count_over_time": count_over_time,
    "present_over_time": present_over_time,
    "last_over_time": last_over_time,
    "absent_over_time": present_over_time,
    "sum_over_time": sum_over_time,
    "avg_over_time": avg_over_time,
    "max_over_time": max_over_time,
    "min_over_time": min_over_time,
    "changes": changes,
    "resets": resets,
    "irate": irate,
    "idelta": idelta,
    "rate": rate,
    "increase": increase,
    "delta": delta,
    "stddev_over_time": stddev_over_time,
    "stdvar_over_time": stdvar_over_time,
    "deriv": deriv,
    "predict_linear": predict_linear,
    "quantile_over_time": quantile_over_time,
    "holt_winters": holt_winters,
}
# Where the range-vector argument is (the others are scalars, evaluated per step).
MATRIX_ARG = {"quantile_over_time": 1}
