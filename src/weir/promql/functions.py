"""Functions over instant vectors and scalars (math, clamp, labels, dates, histogram_quantile).

Each takes the evaluated arguments (a `Block`, per-step scalar arrays, strings) and returns a
`Block` or a per-step scalar array. Like Prometheus, functions that change a series' value
drop its metric name; the engine then checks that no step holds a label set twice.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from weir.promql.errors import ExecutionError
from weir.promql.quantile import bucket_quantile
from weir.promql.regex import compile_anchored
from weir.promql.values import NAME, Block, Labels, drop_name, get, with_label, without

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def _sgn(v: np.ndarray) -> np.ndarray:
    return np.where(v < 0, -1.0, np.where(v > 0, 1.0, v))


MATH: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "ln": np.log,
    "log2": np.log2,
    "log10": np.log10,
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "sinh": np.sinh,
    "cosh": np.cosh,
    "tanh": np.tanh,
    "asinh": np.arcsinh,
    "acosh": np.arccosh,
    "atanh": np.arctanh,
    "rad": lambda v: v * math.pi / 180,
    "deg": lambda v: v * 180 / math.pi,
    "sgn": _sgn,
}


def _dropped(block: Block, values: np.ndarray, mask: np.ndarray | None = None) -> Block:
    return Block([drop_name(ls) for ls in block.labels], values, block.m if mask is None else block.m & mask)


def math_fn(name: str, block: Block) -> Block:
    with np.errstate(all="ignore"):
        return _dropped(block, MATH[name](block.v))


def clamp(block: Block, lo: np.ndarray | None, hi: np.ndarray | None) -> Block:
    v = block.v
    mask = None
    if hi is not None:
        v = np.minimum(hi[None, :], v)
    if lo is not None:
        v = np.maximum(lo[None, :], v)
    if lo is not None and hi is not None:
        mask = np.broadcast_to(~(hi < lo)[None, :], v.shape)
    return _dropped(block, v, mask)


def round_fn(block: Block, to_nearest: np.ndarray | None) -> Block:
    with np.errstate(all="ignore"):
        inverse = 1.0 / (to_nearest if to_nearest is not None else np.ones(block.v.shape[1]))
        return _dropped(block, np.floor(block.v * inverse[None, :] + 0.5) / inverse[None, :])


def scalar(block: Block) -> np.ndarray:
    n = block.v.shape[1]
    count = block.m.sum(axis=0)
    out = np.full(n, np.nan)
    if len(block):
        one = count == 1
        pick = np.argmax(block.m, axis=0)
        out[one] = block.v[pick[one], np.flatnonzero(one)]
    return out


def vector(s: np.ndarray) -> Block:
    return Block([()], s[None, :].copy(), np.ones((1, len(s)), dtype=bool))


def absent_labels(matchers) -> Labels:
    """The labels `absent(x{...})` answers with: those fixed by one `=` matcher, except the name."""
    out: dict[str, str] = {}
    has: set[str] = set()
    for m in matchers:
        if m.name == NAME:
            continue
        if m.op == "=" and m.name not in has:
            out[m.name] = m.value
            has.add(m.name)
        else:
            out.pop(m.name, None)
    return tuple(sorted((k, v) for k, v in out.items() if v != ""))


def absent(block: Block, labels: Labels, n: int) -> Block:
    present = np.asarray(block.m.any(axis=0) if len(block) else np.zeros(n, dtype=bool), dtype=bool)
    return Block([labels], np.ones((1, n)), (~present)[None, :])


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's `Regexp.ExpandString`: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups are empty."""
    out = []
    i, n = 0, len(template)
    while i < n:
        c = template[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            end = template.find("}", i + 2)
            name = template[i + 2 : end] if end > 0 else ""
            if end < 0 or not name or not all(ch.isalnum() or ch == "_" for ch in name):
                out.append(c)
                i += 1
                continue
            i = end + 1
        else:
            j = i + 1
            while j < n and (template[j].isalnum() or template[j] == "_"):
                j += 1
            name = template[i + 1 : j]
            if not name:
                out.append(c)
                i += 1
                continue
            i = j
        out.append(_group(match, name))
    return "".join(out)


def _group(match: re.Match[str], name: str) -> str:
    if name.isdigit():
        k = int(name)
        if k > (match.re.groups or 0):
            return ""
        return match.group(k) or ""
    try:
        return match.group(name) or ""
    except IndexError:  # no group of that name
        return ""


def label_replace(block: Block, dst: str, repl: str, src: str, regex: str) -> Block:
    try:
        pattern = compile_anchored(regex)
    except Exception:
        raise ExecutionError(f"invalid regular expression in label_replace(): {regex}") from None
    if not LABEL_NAME.match(dst):
        raise ExecutionError(f"invalid destination label name in label_replace(): {dst}")
    labels = []
    for ls in block.labels:
        m = pattern.fullmatch(get(ls, src))
        labels.append(ls if m is None else with_label(ls, dst, _expand(repl, m)))
    return Block(labels, block.v, block.m)


def label_join(block: Block, dst: str, sep: str, srcs: list[str]) -> Block:
    for s in srcs:
        if not LABEL_NAME.match(s):
            raise ExecutionError(f"invalid source label name in label_join(): {s}")
    if not LABEL_NAME.match(dst):
        raise ExecutionError(f"invalid destination label name in label_join(): {dst}")
    labels = [with_label(ls, dst, sep.join(get(ls, s) for s in srcs)) for ls in block.labels]
    return Block(labels, block.v, block.m)


# -- dates ------------------------------------------------------------------------------------


def _civil(seconds: np.ndarray):
    """(year, month, day, day of year, weekday, hour, minute) of Unix seconds, UTC."""
    secs = seconds.astype(np.int64)
    days = np.floor_divide(secs, 86400)
    rem = secs - days * 86400
    hour, minute = rem // 3600, (rem % 3600) // 60
    weekday = (days + 4) % 7  # 1970-01-01 was a Thursday
    z = days + 719468  # days-from-civil, inverted (Howard Hinnant's algorithm)
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy_mar = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy_mar + 2) // 153
    day = doy_mar - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
    before = np.array([0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334])
    yday = before[month - 1] + day + (leap & (month > 2))
    return year, month, day, yday, weekday, hour, minute


_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def date_part(name: str, seconds: np.ndarray) -> np.ndarray:
    year, month, day, yday, weekday, hour, minute = _civil(seconds)
    if name == "year":
        out = year
    elif name == "month":
        out = month
    elif name == "day_of_month":
        out = day
    elif name == "day_of_year":
        out = yday
    elif name == "day_of_week":
        out = weekday
    elif name == "hour":
        out = hour
    elif name == "minute":
        out = minute
    else:  # days_in_month
        leap = ((year % 4 == 0) & (year % 100 != 0)) | (year % 400 == 0)
        out = _DAYS[month - 1] + (leap & (month == 2))
    return out.astype(np.float64)


def date_fn(name: str, block: Block) -> Block:
    v = block.v
    ok = np.isfinite(v) & (np.abs(v) < 9.2e18)
    secs = np.where(ok, np.trunc(np.where(ok, v, 0)), 0)
    return _dropped(block, date_part(name, secs))


# -- histogram_quantile -----------------------------------------------------------------------


def _parse_bound(text: str) -> float | None:
    """Go's ParseFloat for the `le` label; None where it fails."""
    if not text or "_" in text or text != text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        try:
            return float.fromhex(text)
        except (ValueError, OverflowError):
            return None


def histogram_quantile(q: np.ndarray, block: Block) -> Block:
    n = block.v.shape[1]
    groups: dict[Labels, list[tuple[int, float]]] = {}
    out_labels: dict[Labels, Labels] = {}
    for i, ls in enumerate(block.labels):
        bound = _parse_bound(get(ls, "le"))
        if bound is None:
            continue
        sig = without(ls, {"le"})
        groups.setdefault(sig, []).append((i, bound))
        out_labels.setdefault(sig, without(ls, {"le", NAME}))
    labels, vs, ms = [], [], []
    for sig, members in groups.items():
        rows = [i for i, _ in members]
        bounds = [b for _, b in members]
        M = block.m[rows]
        present = M.any(axis=0)
        value, done = _bucket_quantiles(q, np.array(bounds), block.v[rows], M)
        for s in np.flatnonzero(present & ~done).tolist():
            buckets = [(bounds[j], float(block.v[rows[j], s])) for j in range(len(rows)) if M[j, s]]
            value[s] = bucket_quantile(float(q[s]), buckets)
        labels.append(out_labels[sig])
        vs.append(value)
        ms.append(present)
    if not labels:
        return Block.empty(n)
    return Block(labels, np.array(vs), np.array(ms, dtype=bool))


def _bucket_quantiles(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray, present: np.ndarray):
    """`bucket_quantile` for every step at once where the simple case holds (every bucket
    present, no NaN, q within [0, 1], a +Inf bucket): values, and which steps they answer."""
    n = counts.shape[1]
    out = np.zeros(n)
    order = np.argsort(bounds, kind="stable")
    bounds, counts = bounds[order], counts[order]
    done = present.all(axis=0) & ~np.isnan(counts).any(axis=0) & (q >= 0) & (q <= 1)
    if not done.any() or bounds[-1] != np.inf:
        return out, np.zeros(n, dtype=bool)
    unique, first = np.unique(bounds, return_index=True)
    if len(unique) < len(bounds):  # equal bounds (`1` and `1.0`) hold one bucket between them
        counts = np.add.reduceat(counts, first, axis=0)
        bounds = unique
    if len(bounds) < 2:
        return out, np.zeros(n, dtype=bool)
    counts = np.maximum.accumulate(counts, axis=0)  # Prometheus' monotonicity fix
    observations = counts[-1]
    done &= observations != 0
    rank = q * observations
    reached = counts[:-1] >= rank[None, :]
    b = np.where(reached.any(axis=0), reached.argmax(axis=0), len(bounds) - 1)
    cols = np.arange(n)
    prev = np.maximum(b - 1, 0)
    start = np.where(b > 0, bounds[prev], 0.0)
    width = np.where(b > 0, counts[np.minimum(b, len(bounds) - 1), cols] - counts[prev, cols], counts[0])
    into = np.where(b > 0, rank - counts[prev, cols], rank)
    end = bounds[np.minimum(b, len(bounds) - 1)]
    with np.errstate(invalid="ignore", divide="ignore"):
        value = start + (end - start) * (into / width)
    value = np.where((b == 0) & (bounds[0] <= 0), bounds[0], value)
    value = np.where(b == len(bounds) - 1, bounds[-2], value)
    done &= ~((width == 0) & (b < len(bounds) - 1) & ~((b == 0) & (bounds[0] <= 0)))  # 0/0: leave to the loop
    out[done] = value[done]
    return out, done


def sort_block(block: Block, descending: bool) -> Block:
    """Order rows by their (single-step) value, NaN last; used for instant queries."""
    if block.v.shape[1] != 1 or len(block) < 2:
        return block
    vals = block.v[:, 0]
    nan = np.isnan(vals)
    key = np.where(nan, 0.0, -vals if descending else vals)
    order = np.lexsort((key, nan))
    return block.take(order)
