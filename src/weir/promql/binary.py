"""Binary operators: arithmetic, comparisons (with `bool`), set operators, vector matching.

Series are matched by their signature (the `on` labels, or all but the `ignoring` ones and
the name), fixed per series, so pairs are found once and their values computed for all
steps together; the errors Prometheus raises per step (duplicates on the "one" side,
unmatched many-to-one) are raised when any step would raise them.
"""

from __future__ import annotations

import numpy as np

from weir.promql import ast
from weir.promql.errors import ExecutionError
from weir.promql.values import NAME, Block, Labels, drop_name, get, labels_str, merge_rows, with_label

ARITHMETIC = {"+", "-", "*", "/", "%", "^", "atan2"}
DROPS_NAME = {"+", "-", "*", "/", "%", "^"}  # not atan2: Prometheus keeps the name there
COMPARISON = {"==", "!=", ">", "<", ">=", "<="}


def apply(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The arithmetic operator, or for comparisons whether it holds (a boolean array)."""
    return np.asarray(_apply(op, a, b))


def _apply(op: str, a: np.ndarray, b: np.ndarray):
    with np.errstate(all="ignore"):
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        if op == "%":
            return np.fmod(a, b)
        if op == "^":
            return np.power(a, b)
        if op == "atan2":
            return np.arctan2(a, b)
        if op == "==":
            return a == b
        if op == "!=":
            return a != b
        if op == ">":
            return a > b
        if op == "<":
            return a < b
        if op == ">=":
            return a >= b
        if op == "<=":
            return a <= b
    raise ExecutionError(f"operator {op!r} not allowed here")


def scalar_scalar(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r = apply(op, np.broadcast_to(a, np.shape(b)) if np.ndim(a) < np.ndim(b) else a, b)
    return np.asarray(r, dtype=np.float64)


def vector_scalar(op: str, block: Block, s: np.ndarray, swap: bool, return_bool: bool) -> Block:
    lv, rv = (s[None, :], block.v) if swap else (block.v, s[None, :])
    value = apply(op, lv, rv)
    m = block.m
    if op in COMPARISON:
        keep = value
        if return_bool:
            value = keep.astype(np.float64)
        else:
            value = block.v
            m = m & keep
    value = np.broadcast_to(value, block.v.shape).astype(np.float64)
    labels = block.labels
    if op in DROPS_NAME or return_bool:
        labels = [drop_name(ls) for ls in labels]
    return Block(list(labels), value, m)


def signature(ls: Labels, on: bool, names: list[str]) -> Labels:
    if on:
        return tuple((k, get(ls, k)) for k in sorted(set(names)))
    skip = set(names) | {NAME}
    return tuple(p for p in ls if p[0] not in skip)


def _sig_rows(block: Block, on: bool, names: list[str]) -> dict[Labels, list[int]]:
    out: dict[Labels, list[int]] = {}
    for i, ls in enumerate(block.labels):
        out.setdefault(signature(ls, on, names), []).append(i)
    return out


def _any(block: Block, rows: list[int]) -> np.ndarray:
    return np.asarray(block.m[rows].any(axis=0))


def set_op(node: ast.Binary, lhs: Block, rhs: Block, n: int) -> Block:
    lsig = _sig_rows(lhs, node.on, node.labels)
    rsig = _sig_rows(rhs, node.on, node.labels)
    if node.op in ("and", "unless"):
        mask = lhs.m.copy()
        for sig, rows in lsig.items():
            other = _any(rhs, rsig[sig]) if sig in rsig else np.zeros(n, dtype=bool)
            mask[rows] &= other[None, :] if node.op == "and" else ~other[None, :]
        return merge_rows(Block(list(lhs.labels), lhs.v, mask))
    # or
    rmask = rhs.m.copy()
    for sig, rows in rsig.items():
        if sig in lsig:
            rmask[rows] &= ~_any(lhs, lsig[sig])[None, :]
    out = Block(list(lhs.labels) + list(rhs.labels), np.vstack([lhs.v, rhs.v]), np.vstack([lhs.m, rmask]))
    return merge_rows(out)


def vector_vector(node: ast.Binary, lhs: Block, rhs: Block, n: int) -> Block:
    if node.op in ("and", "or", "unless"):
        return set_op(node, lhs, rhs, n)
    one_to_many = node.card == "one-to-many"
    many, one = (rhs, lhs) if one_to_many else (lhs, rhs)
    # A step is evaluated only when both sides have samples at it.
    active = many.m.any(axis=0) & one.m.any(axis=0) if len(many) and len(one) else np.zeros(n, dtype=bool)
    if not active.any():
        return Block.empty(n)
    many_sig = _sig_rows(many, node.on, node.labels)
    one_sig = _sig_rows(one, node.on, node.labels)
    for sig, rows in one_sig.items():
        if len(rows) > 1:
            count = one.m[rows].sum(axis=0)
            bad = np.flatnonzero((count > 1) & active)
            if len(bad):
                s = int(bad[0])
                dup = [one.labels[r] for r in rows if one.m[r, s]][:2]
                side = "left" if one_to_many else "right"
                raise ExecutionError(
                    f"found duplicate series for the match group {labels_str(sig)} on the {side} hand-side of the "
                    f"operation: [{labels_str(dup[0])}, {labels_str(dup[1])}];many-to-many matching not allowed: "
                    "matching labels must be unique on one side"
                )
    is_cmp = node.op in COMPARISON
    drop = node.op in DROPS_NAME
    labels: list[Labels] = []
    values: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    for sig, mrows in many_sig.items():
        orows = one_sig.get(sig)
        if not orows:
            continue
        kept_per_step = np.zeros(n, dtype=np.int64)
        sig_out: dict[Labels, np.ndarray] = {}
        for mr in mrows:
            for orow in orows:
                pm = many.m[mr] & one.m[orow] & active
                if not pm.any():
                    continue
                vl, vr = many.v[mr], one.v[orow]
                if one_to_many:
                    vl, vr = vr, vl
                result = apply(node.op, vl, vr)
                if is_cmp:
                    if node.return_bool:
                        value = result.astype(np.float64)
                    else:
                        value = vl
                        pm = pm & result
                else:
                    value = result
                if not pm.any():
                    continue
                metric = _result_metric(many.labels[mr], one.labels[orow], node, drop)
                if node.card == "one-to-one":
                    kept_per_step += pm
                else:
                    seen = sig_out.get(metric)
                    if seen is not None and (seen & pm).any():
                        raise ExecutionError("multiple matches for labels: grouping labels must ensure unique matches")
                    sig_out[metric] = pm if seen is None else seen | pm
                labels.append(metric)
                values.append(np.where(pm, value, 0.0))
                masks.append(pm)
        if node.card == "one-to-one" and (kept_per_step > 1).any():
            raise ExecutionError(
                "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
            )
    if not labels:
        return Block.empty(n)
    return merge_rows(Block(labels, np.array(values), np.array(masks, dtype=bool)))


def _result_metric(ls: Labels, rs: Labels, node: ast.Binary, drop: bool) -> Labels:
    out = ls
    if drop:
        out = drop_name(out)
    if node.card == "one-to-one":
        names = set(node.labels)
        out = tuple(p for p in out if p[0] in names) if node.on else tuple(p for p in out if p[0] not in names)
    for name in node.include:
        out = with_label(out, name, get(rs, name))
    if node.return_bool:
        out = drop_name(out)
    return out
