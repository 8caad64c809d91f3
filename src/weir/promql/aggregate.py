"""Aggregation operators (`sum by (job) (...)`, `topk`, `count_values`, ...) over a `Block`.

Groups are fixed per series (labels do not change between steps), so each group's rows
are combined for all steps at once, row by row in series order: the same sequence of
float operations Prometheus performs at each step, so the same results to the bit.
"""

from __future__ import annotations

import math
import re

import numpy as np

from weir.promql.errors import ExecutionError
from weir.promql.quantile import quantile
from weir.promql.values import NAME, Block, Labels, format_value, format_values, with_label

LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def group_labels(ls: Labels, grouping: list[str], without: bool) -> Labels:
    if without:
        drop = set(grouping) | {NAME}
        return tuple(p for p in ls if p[0] not in drop)
    if not grouping:
        return ()
    keep = set(grouping)
    return tuple(p for p in ls if p[0] in keep)


def _groups(block: Block, grouping: list[str], without: bool) -> dict[Labels, list[int]]:
    out: dict[Labels, list[int]] = {}
    for i, ls in enumerate(block.labels):
        out.setdefault(group_labels(ls, grouping, without), []).append(i)
    return out


def aggregate(op: str, block: Block, grouping: list[str], without: bool, param, n: int) -> Block:
    """`param` is a per-step array (topk, bottomk, quantile) or a string (count_values)."""
    if op == "count_values":
        return _count_values(block, grouping, without, param, n)
    if op in ("topk", "bottomk"):
        return _topk(block, grouping, without, param, n, op == "topk")
    labels, vs, ms = [], [], []
    for key, rows in _groups(block, grouping, without).items():
        V, M = block.v[rows], block.m[rows]
        present = M.any(axis=0)
        if not present.any():
            continue
        if op == "sum":
            value = np.cumsum(np.where(M, V, 0.0), axis=0)[-1]  # sequential, as Go adds
        elif op == "count":
            value = M.sum(axis=0).astype(np.float64)
        elif op == "group":
            value = np.ones(n)
        elif op == "avg":
            value = _avg(V, M)
        elif op in ("min", "max"):
            value = _extreme(V, M, op == "max")
        elif op in ("stddev", "stdvar"):
            value = _stdvar(V, M)
            if op == "stddev":
                value = np.sqrt(value)
        elif op == "quantile":
            value = np.zeros(n)
            for s in np.flatnonzero(present).tolist():
                value[s] = quantile(float(param[s]), V[M[:, s], s].tolist())
        else:
            raise ExecutionError(f"unknown aggregation {op!r}")
        labels.append(key)
        vs.append(value)
        ms.append(present)
    if not labels:
        return Block.empty(n)
    return Block(labels, np.array(vs), np.array(ms, dtype=bool))


def _avg(V: np.ndarray, M: np.ndarray) -> np.ndarray:
    """Prometheus' running mean, series by series in order (bit for bit as Go computes it).
    With few steps beside many series (`avg by (region)` over a day at 1 h: 25 steps, 1,000
    series), one step at a time in Python floats; otherwise series by series over every step."""
    n = V.shape[1]
    if n <= _FEW_STEPS and V.shape[0] > n:
        out = np.zeros(n)
        for s in range(n):
            column = V[M[:, s], s].tolist()
            if column:
                out[s] = _running_mean(column)
        return out
    mean = np.zeros(n)
    count = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        for v, m in zip(V, M):
            first = m & ~seen
            later = m & seen
            count = count + later
            mean_inf = np.isinf(mean)
            skip = mean_inf & ((np.isinf(v) & ((mean > 0) == (v > 0))) | (np.isfinite(v)))
            upd = later & ~skip
            new = mean + (v / np.maximum(count, 1) - mean / np.maximum(count, 1))
            mean = np.where(first, v, np.where(upd, new, mean))
            count = np.where(first, 1, count)
            seen |= m
    return mean


_FEW_STEPS = 64


def _running_mean(values: list[float]) -> float:
    """Go's `avg` over one step's values: mean += v/count - mean/count, an infinite mean
    kept against finite values and against infinities of its own sign."""
    mean, count = values[0], 1.0
    for v in values[1:]:
        count += 1.0
        if math.isinf(mean) and (math.isfinite(v) or (math.isinf(v) and (mean > 0) == (v > 0))):
            continue
        mean += v / count - mean / count
    return mean


def _extreme(V: np.ndarray, M: np.ndarray, is_max: bool) -> np.ndarray:
    n = V.shape[1]
    cur = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    for v, m in zip(V, M):
        better = (cur < v) if is_max else (cur > v)
        replace = m & (~seen | better | np.isnan(cur))
        cur = np.where(replace, v, cur)
        seen |= m
    return cur


def _stdvar(V: np.ndarray, M: np.ndarray) -> np.ndarray:
    n = V.shape[1]
    value = np.zeros(n)
    mean = np.zeros(n)
    count = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        for v, m in zip(V, M):
            first = m & ~seen
            later = m & seen
            count = np.where(first, 1.0, count + later)
            delta = v - mean
            new_mean = mean + delta / np.maximum(count, 1)
            new_value = value + delta * (v - new_mean)
            mean = np.where(first, v, np.where(later, new_mean, mean))
            value = np.where(first, 0.0, np.where(later, new_value, value))
            seen |= m
        return value / np.maximum(count, 1)


def _topk(block: Block, grouping: list[str], without: bool, param, n: int, top: bool) -> Block:
    ks = np.asarray(param, dtype=np.float64)
    if (~np.isfinite(ks) | (np.abs(ks) >= 2.0**63)).any():
        bad = ks[~np.isfinite(ks) | (np.abs(ks) >= 2.0**63)][0]
        raise ExecutionError(f"Scalar value {format_value(float(bad))} overflows int64")
    k = np.trunc(ks)
    out_m = np.zeros_like(block.m)
    for rows in _groups(block, grouping, without).values():
        V, M = block.v[rows], block.m[rows]
        primary = np.where(M, np.where(np.isnan(V), 1, 0), 2)
        secondary = np.where(np.isnan(V), 0.0, -V if top else V)
        order = np.argsort(secondary, axis=0, kind="stable")
        order = np.take_along_axis(order, np.argsort(np.take_along_axis(primary, order, 0), axis=0, kind="stable"), 0)
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(len(rows))[:, None].repeat(n, axis=1), 0)
        picked = M & (ranks < k[None, :])
        # Where values tie (or are NaN) the choice is Prometheus' heap's: replay it there.
        with np.errstate(invalid="ignore"):
            ordered = np.sort(np.where(M, V, np.nan), axis=0)
            ties = (ordered[1:] == ordered[:-1]).any(axis=0) | (M & np.isnan(V)).any(axis=0)
        for step in np.flatnonzero(ties & (k >= 1)).tolist():
            present = np.flatnonzero(M[:, step])
            chosen = heap_select(V[present, step].tolist(), int(k[step]), top)
            picked[:, step] = False
            picked[present[chosen], step] = True
        out_m[rows] = picked
    return Block(list(block.labels), block.v.copy(), out_m).compact()


def heap_select(values: list[float], k: int, top: bool) -> list[int]:
    """The indices topk (or bottomk) keeps, replaying Prometheus' use of Go's container/heap:
    the heap's top is its least wanted element (NaN first), replaced only by a better one."""

    def less(a: int, b: int) -> bool:
        x, y = values[heap[a]], values[heap[b]]
        if x != x:
            return True
        return x < y if top else x > y

    def up(j: int) -> None:
        while j > 0:
            i = (j - 1) // 2
            if not less(j, i):
                break
            heap[i], heap[j] = heap[j], heap[i]
            j = i

    def down(i: int, n: int) -> None:
        while True:
            j = 2 * i + 1
            if j >= n:
                break
            if j + 1 < n and less(j + 1, j):
                j += 1
            if not less(j, i):
                break
            heap[i], heap[j] = heap[j], heap[i]
            i = j

    heap: list[int] = [0] if values else []
    for idx in range(1, len(values)):
        x, head = values[idx], values[heap[0]]
        better = head < x if top else head > x
        if len(heap) < k or better or head != head:
            if len(heap) == k:
                if k == 1:
                    heap[0] = idx
                    continue
                last = len(heap) - 1
                heap[0], heap[last] = heap[last], heap[0]
                down(0, last)
                heap.pop()
            heap.append(idx)
            up(len(heap) - 1)
    return heap


def _count_values(block: Block, grouping: list[str], without: bool, label: str, n: int) -> Block:
    if not LABEL_NAME.match(label):
        raise ExecutionError(f'invalid label name "{label}"')
    grouping = list(grouping) if without else [*grouping, label]
    counts: dict[Labels, np.ndarray] = {}
    for ls, v, m in zip(block.labels, block.v, block.m):
        steps = np.flatnonzero(m)
        keys: dict[str, Labels] = {}
        for s, text in zip(steps.tolist(), format_values(v[steps])):
            key = keys.get(text)
            if key is None:
                key = keys[text] = group_labels(with_label(ls, label, text), grouping, without)
            got = counts.get(key)
            if got is None:
                got = counts[key] = np.zeros(n)
            got[s] += 1
    if not counts:
        return Block.empty(n)
    labels = list(counts)
    values = np.array([counts[k] for k in labels])
    return Block(labels, values, values > 0)
