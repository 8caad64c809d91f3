"""Range-vector functions (`rate`, `*_over_time`, ...): one value per series per step.

Each step looks at the window [end - range, end] (both ends included, as in Prometheus 2.42)
of a series' samples, where end is the step time (or the `@` time) minus the offset. The
windows' bounds come from one `searchsorted` per series; the common functions are then
computed for every step at once:

- count, last, present, changes, resets, irate/idelta and the counter-reset corrections of
  rate/increase from prefix counts and sums, exact;
- min/max from a sparse table (NaN only when the whole window is NaN, as Prometheus);
- sum/avg from prefix sums of the finite values (non-finite ones counted apart, so Inf and
  NaN come out as Prometheus' Kahan loop gives them). Prometheus sums each window with
  Kahan-Neumaier compensation; a prefix-sum difference is off by about 1e-16 of the
  running total, negligible unless a window's sum nearly cancels out;
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


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.zeros(len(x) + 1, dtype=x.dtype if x.dtype.kind == "f" else np.int64)
    np.cumsum(x, out=out[1:])
    return out


def _pairs_prefix(flags: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """P[k] = sum over 1 <= i < k of flags[i] (times weights[i]): pairs (i-1, i) inside a window
    [lo, hi) are those with lo < i < hi, i.e. P[hi] - P[lo + 1]."""
    x = flags.astype(np.float64) if weights is None else np.where(flags, weights, 0.0)
    x[0] = 0.0
    return _prefix(x)


def _window_pairs(p: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return p[hi] - p[np.minimum(lo + 1, hi)]


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
    s = _prefix(np.where(finite, v, 0.0))[hi] - _prefix(np.where(finite, v, 0.0))[lo]
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
    ok = hi > lo
    if not len(v):
        return np.zeros(len(lo))
    span = np.where(ok, hi - lo, 1)
    levels = [v]
    width = 1
    longest = int(span.max())
    while width * 2 <= longest:
        prev = levels[-1]
        levels.append(op(prev[:-width], prev[width:]))
        width *= 2
    k = np.floor(np.log2(span)).astype(np.intp)
    out = np.empty(len(lo))
    safe_lo = np.where(ok, lo, 0)
    for level in np.unique(k):
        sel = k == level
        table = levels[level]
        a = safe_lo[sel]
        b = np.where(ok[sel], hi[sel], 1) - (1 << int(level))
        out[sel] = op(table[a], table[b])
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
    return _window_pairs(_pairs_prefix(flags), lo, hi), hi > lo


def resets(t, v, lo, hi, **_) -> Out:
    if len(v) < 2:
        return np.zeros(len(lo)), hi > lo
    flags = np.zeros(len(v), dtype=bool)
    flags[1:] = v[1:] < v[:-1]
    return _window_pairs(_pairs_prefix(flags), lo, hi), hi > lo


def _instant(t, v, lo, hi, is_rate: bool) -> Out:
    ok = (hi - lo) >= 2
    last = np.where(ok, hi - 1, 1)
    prev = last - 1
    if len(v) < 2:
        return np.zeros(len(lo)), np.zeros(len(lo), dtype=bool)
    vl, vp = v[last], v[prev]
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
        result = result + _window_pairs(_pairs_prefix(flags, weights), lo, hi)
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


def _per_window(t, v, lo, hi, fn: Callable[[list[int], list[float], int], float | None]) -> Out:
    n = len(lo)
    out = np.zeros(n)
    ok = np.zeros(n, dtype=bool)
    tl, vl = t.tolist(), v.tolist()
    for k in np.flatnonzero(hi > lo).tolist():
        a, b = int(lo[k]), int(hi[k])
        r = fn(tl[a:b], vl[a:b], k)
        if r is not None:
            out[k] = r
            ok[k] = True
    return out, ok


def stddev_over_time(t, v, lo, hi, **_) -> Out:
    return _per_window(t, v, lo, hi, lambda ts, vs, k: math.sqrt(_stdvar(vs)))


def stdvar_over_time(t, v, lo, hi, **_) -> Out:
    return _per_window(t, v, lo, hi, lambda ts, vs, k: _stdvar(vs))


def deriv(t, v, lo, hi, **_) -> Out:
    return _per_window(t, v, lo, hi, lambda ts, vs, k: _linear_regression(ts, vs, ts[0])[0] if len(vs) > 1 else None)


def predict_linear(t, v, lo, hi, steps, args, **_) -> Out:
    duration = args[0]

    def one(ts, vs, k):
        if len(vs) < 2:
            return None
        slope, intercept = _linear_regression(ts, vs, int(steps[k]))
        return slope * float(duration[k]) + intercept

    return _per_window(t, v, lo, hi, one)


def quantile_over_time(t, v, lo, hi, args, **_) -> Out:
    q = args[0]
    return _per_window(t, v, lo, hi, lambda ts, vs, k: quantile(float(q[k]), vs))


def holt_winters(t, v, lo, hi, args, **_) -> Out:
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

    return _per_window(t, v, lo, hi, one)


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
