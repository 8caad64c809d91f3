"""Range-vector functions that run Prometheus' sequential algorithm per window, in Python
floats (which give the same bits as Go's): deriv, predict_linear, stddev/stdvar,
quantile and holt_winters. Their loops carry state from sample to sample (Kahan sums,
running means, smoothing) that no prefix sum reproduces; `windows` holds the vectorised
functions and the table of all of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from weir.promql.errors import ExecutionError
from weir.promql.quantile import quantile

Out = tuple[np.ndarray, np.ndarray]  # values, mask


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
