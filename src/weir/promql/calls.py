"""Function calls: route each PromQL function to its implementation with evaluated arguments.

`ev` is the `Evaluator` (not imported here, to keep the module graph acyclic): it evaluates
the arguments and owns range-vector functions, whose arguments are raw samples.
"""

from __future__ import annotations

import math

import numpy as np

from weir.promql import ast, functions, windows
from weir.promql.errors import BadDataError
from weir.promql.values import Block, drop_name, merge_rows

DATE_FUNCTIONS = {"minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month", "month", "year"}
NATIVE_HISTOGRAM_FUNCTIONS = {"histogram_count", "histogram_sum", "histogram_fraction"}


def _unparen(node: ast.Node) -> ast.Node:
    while isinstance(node, ast.Paren):
        node = node.expr
    return node


def _string(node: ast.Node) -> str:
    node = _unparen(node)
    if not isinstance(node, ast.StringLit):
        raise BadDataError("expected a string literal")
    return node.val


def call(ev, node: ast.Call):
    name = node.name
    args = node.args
    if name in windows.FUNCTIONS:
        return ev.range_function(node)
    if name == "time":
        return ev.steps / 1000.0
    if name == "pi":
        return np.full(ev.n, math.pi)
    if name == "vector":
        return functions.vector(ev.scalar(args[0]))
    if name == "scalar":
        return functions.scalar(ev.block(args[0]))
    if name == "timestamp":
        return _timestamp(ev, args[0])
    if name in DATE_FUNCTIONS:
        if not args:  # of the step's time, as a one-element vector without labels
            return functions.vector(functions.date_part(name, ev.steps // 1000))
        return merge_rows(functions.date_fn(name, ev.block(args[0])))
    if name in functions.MATH:
        return merge_rows(functions.math_fn(name, ev.block(args[0])))
    if name == "absent":
        arg = _unparen(args[0])
        labels = functions.absent_labels(arg.matchers) if isinstance(arg, ast.VectorSel) else ()
        return functions.absent(ev.block(arg), labels, ev.n).compact()
    if name in ("clamp", "clamp_min", "clamp_max"):
        block = ev.block(args[0])
        if name == "clamp":
            lo, hi = ev.scalar(args[1]), ev.scalar(args[2])
        elif name == "clamp_min":
            lo, hi = ev.scalar(args[1]), None
        else:
            lo, hi = None, ev.scalar(args[1])
        return merge_rows(functions.clamp(block, lo, hi))
    if name == "round":
        block = ev.block(args[0])
        to_nearest = ev.scalar(args[1]) if len(args) > 1 else None
        return merge_rows(functions.round_fn(block, to_nearest))
    if name == "label_replace":
        block = ev.block(args[0])
        dst, repl, src, regex = (_string(a) for a in args[1:5])
        return merge_rows(functions.label_replace(block, dst, repl, src, regex))
    if name == "label_join":
        block = ev.block(args[0])
        dst, sep = _string(args[1]), _string(args[2])
        return merge_rows(functions.label_join(block, dst, sep, [_string(a) for a in args[3:]]))
    if name in ("sort", "sort_desc"):
        return functions.sort_block(ev.block(args[0]), name == "sort_desc")
    if name == "histogram_quantile":
        q = ev.scalar(args[0])
        return merge_rows(functions.histogram_quantile(q, ev.block(args[1])))
    if name in NATIVE_HISTOGRAM_FUNCTIONS:
        # Weir stores floats only: these functions skip float samples, so the answer is empty.
        for a in args:
            ev.eval(a)
        return Block.empty(ev.n)
    raise BadDataError(f'unknown function with name "{name}"')


def _timestamp(ev, arg: ast.Node) -> Block:
    """`timestamp(x)` of a plain selector gives each sample's own time; of anything else the
    step's time (the value was computed at the step)."""
    arg = _unparen(arg)
    if isinstance(arg, ast.VectorSel):
        # With `@ t offset o` this is the sample at t - o. (Prometheus 2.42 answers nothing
        # there: it reads at t but fetched data only up to t - o; later versions fixed it.)
        block, times = ev.selector(arg)
        values = times.astype(np.float64) / 1000.0
    else:
        block = ev.block(arg)
        values = np.broadcast_to(ev.steps.astype(np.float64) / 1000.0, block.v.shape).copy()
    return merge_rows(Block([drop_name(ls) for ls in block.labels], values, block.m))
