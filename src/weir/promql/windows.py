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
  sequential algorithm per window in Python floats, which give the same bits as Go's.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from weir.promql.errors import ExecutionError
from weir.promql.quantile import quantile

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
    samples inside a window).
    """

    def __init__(self, ts: list[np.ndarray], vs: list[np.ndarray]) -> None:
        self.ts = ts
        self.t = np.concatenate(ts) if ts else np.zeros(0, dtype=np.int64)
        self.v = np.concatenate(vs) if vs else np.zeros(0)
        lengths = np.array([len(x) for x in ts], dtype=np.int64)
        self.starts = np.zeros(len(ts), dtype=np.int64)
        np.cumsum(lengths[:-1], out=self.starts[1:])

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
        p = np.zeros(len(x) + 1)
        np.cumsum(x, out=p[1:])
        a, s = p[:-1], p[1:]
        with np.errstate(invalid="ignore", over="ignore"):
            bb = s - a
            err = (a - (s - bb)) + (x - bb)
        if len(x) and not np.isfinite(p[-1]):  # an overflow: its "errors" are not numbers
            err = np.where(np.isfinite(err), err, 0.0)
        e = np.zeros(len(x) + 1)
        np.cumsum(err, out=e[1:])
        self.p, self.e = p, e

    def window(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return (self.p[b] - self.p[a]) + (self.e[b] - self.e[a])


def _pairs(flags: np.ndarray, lo: np.ndarray, hi: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """The sum over the pairs (i-1, i) inside each window [lo, hi), i.e. lo < i < hi, of
    flags[i] (times weights[i])."""
    x = flags.astype(np.float64) if weights is None else np.where(flags, weights, 0.0)
    x[0] = 0.0
    return Sums(x).window(np.minimum(lo + 1, hi), hi)


def count_over_time(t, v, lo, hi, **_) -> Out:
    n = hi - lo
    return n.astype(np.float64), n > 0


def present_over_time(t, v, lo, hi, **_) -> Out:
    n = hi - lo
    return np.ones(len(n)), n > 0


def last_over_time(t, v, lo, hi, **_) -> Out:
    ok = hi > lo
    return v[np.where(ok, hi - 1, 0)] if len(v) else np.zeros(len(lo)), ok


def _sum_parts(v: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    finite = np.isfinite(v)
    if finite.all():
        zero = np.zeros(len(lo), dtype=np.int64)
        return Sums(v).window(lo, hi), zero, zero, zero
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

    Windows that do not overlap (a step at least the range) take one `reduceat` pass. Else
    a sparse table: level j holds op over runs of 2**j samples, and a window of length L is
    op of two (overlapping) runs of 2**floor(log2 L); levels are built one from the last and
    dropped once their windows are answered, so memory stays at two copies of the samples.
    """
    ok = hi > lo
    out = np.zeros(len(lo))
    if not len(v) or not ok.any():
        return out
    a, b = lo[ok], hi[ok]
    if (a[1:] >= b[:-1]).all():
        bounds = np.empty(2 * len(a), dtype=np.intp)
        bounds[0::2], bounds[1::2] = a, b
        padded = np.append(v, v[-1:])  # reduceat needs every index inside the array
        out[ok] = op.reduceat(padded, bounds)[0::2]
        return out
    span = b - a
    k = np.floor(np.log2(span)).astype(np.intp)
    answer = np.empty(len(a))
    table, width, level = v, 1, 0
    top = int(k.max())
    while True:
        sel = k == level
        if sel.any():
            answer[sel] = op(table[a[sel]], table[b[sel] - width])
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
        weights = np.zeros(len(v))
        weights[1:] = v[:-1]
        result = result + _pairs(flags, lo, hi, weights)
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


# -- sequential ones, per window ------------------------------------------------------------


def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    if abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def _stdvar(values: list[float]) -> float:
    count = 0.0
    mean = c_mean = 0.0
    aux = c_aux = 0.0
    for x in values:
        count += 1
        delta = x - (mean + c_mean)
        mean, c_mean = _kahan_inc(delta / count, mean, c_mean)
        aux, c_aux = _kahan_inc(delta * (x - (mean + c_mean)), aux, c_aux)
    return (aux + c_aux) / count


def _linear_regression(ts: list[int], vs: list[float], intercept_time: int) -> tuple[float, float]:
    n = 0.0
    sum_x = c_x = sum_y = c_y = sum_xy = c_xy = sum_x2 = c_x2 = 0.0
    init_y = vs[0]
    const_y = True
    for i, (t, y) in enumerate(zip(ts, vs)):
        if const_y and i > 0 and y != init_y:
            const_y = False
        n += 1.0
        x = float(t - intercept_time) / 1e3
        sum_x, c_x = _kahan_inc(x, sum_x, c_x)
        sum_y, c_y = _kahan_inc(y, sum_y, c_y)
        sum_xy, c_xy = _kahan_inc(x * y, sum_xy, c_xy)
        sum_x2, c_x2 = _kahan_inc(x * x, sum_x2, c_x2)
    if const_y:
        if math.isinf(init_y):
            return math.nan, math.nan
        return 0.0, init_y
    sum_x += c_x
    sum_y += c_y
    sum_xy += c_xy
    sum_x2 += c_x2
    cov_xy = sum_xy - sum_x * sum_y / n
    var_x = sum_x2 - sum_x * sum_x / n
    try:
        slope = cov_xy / var_x
    except ZeroDivisionError:
        slope = math.copysign(math.inf, cov_xy) if cov_xy else math.nan
    intercept = sum_y / n - slope * sum_x / n
    return slope, intercept


def _div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or a != a else math.copysign(math.inf, a) * math.copysign(1.0, b)


def _per_window(t, v, lo, hi, fn: Callable[[list[int], list[float], int], float | None], check=None) -> Out:
    """`fn` on each non-empty window in turn; `check` (the deadline) runs every 1,000 windows."""
    n = len(lo)
    out = np.zeros(n)
    ok = np.zeros(n, dtype=bool)
    tl, vl = t.tolist(), v.tolist()
    for j, k in enumerate(np.flatnonzero(hi > lo).tolist()):
        if check is not None and j % 1000 == 999:
            check()
        a, b = int(lo[k]), int(hi[k])
        r = fn(tl[a:b], vl[a:b], k)
        if r is not None:
            out[k] = r
            ok[k] = True
    return out, ok


def stddev_over_time(t, v, lo, hi, check=None, **_) -> Out:
    return _per_window(t, v, lo, hi, lambda ts, vs, k: math.sqrt(_stdvar(vs)), check)


def stdvar_over_time(t, v, lo, hi, check=None, **_) -> Out:
    return _per_window(t, v, lo, hi, lambda ts, vs, k: _stdvar(vs), check)


def deriv(t, v, lo, hi, check=None, **_) -> Out:
    return _per_window(
        t, v, lo, hi, lambda ts, vs, k: _linear_regression(ts, vs, ts[0])[0] if len(vs) > 1 else None, check
    )


def predict_linear(t, v, lo, hi, steps, args, check=None, **_) -> Out:
    duration = args[0]

    def one(ts, vs, k):
        if len(vs) < 2:
            return None
        slope, intercept = _linear_regression(ts, vs, int(steps[k]))
        return slope * float(duration[k]) + intercept

    return _per_window(t, v, lo, hi, one, check)


def quantile_over_time(t, v, lo, hi, args, check=None, **_) -> Out:
    q = args[0]
    return _per_window(t, v, lo, hi, lambda ts, vs, k: quantile(float(q[k]), vs), check)


def holt_winters(t, v, lo, hi, args, check=None, **_) -> Out:
    sf_all, tf_all = args

    def one(ts, vs, k):
        sf, tf = float(sf_all[k]), float(tf_all[k])
        if sf <= 0 or sf >= 1:
            raise ExecutionError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf:f}")
        if tf <= 0 or tf >= 1:
            raise ExecutionError(f"invalid trend factor. Expected: 0 < tf < 1, got: {tf:f}")
        if len(vs) < 2:
            return None
        s0 = 0.0
        s1 = vs[0]
        b = vs[1] - vs[0]
        for i in range(1, len(vs)):
            x = sf * vs[i]
            b = b if i - 1 == 0 else tf * (s1 - s0) + (1 - tf) * b
            y = (1 - sf) * (s1 + b)
            s0, s1 = s1, x + y
        return s1

    return _per_window(t, v, lo, hi, one, check)


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
