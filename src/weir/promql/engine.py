"""The PromQL engine: evaluate an expression at one instant or over a range of steps.

Semantics are Prometheus 2.42's. `Result.result` is already in the shape of Prometheus'
`data.result`, ready to encode: values are strings formatted as Go's `strconv.FormatFloat(v,
'f', -1, 64)` and timestamps float seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from weir.promql import ast
from weir.promql.errors import BadDataError
from weir.promql.evaluator import Budget, Evaluator, expect
from weir.promql.parse import parse, parse_selector
from weir.promql.source import SeriesSource
from weir.promql.values import Block, Series, format_time, format_value, format_values, sort_rows

__all__ = ["Engine", "Result", "parse_selector"]

DEFAULT_MAX_SAMPLES = 50_000_000
DEFAULT_LOOKBACK_MS = 300_000
MAX_POINTS_PER_SERIES = 11_000  # Prometheus' API refuses range queries with more steps


@dataclass(slots=True)
class Result:
    """`result_type` is "vector", "matrix", "scalar" or "string"; `result` Prometheus' JSON shape."""

    result_type: str
    result: Any
    warnings: list[str] = field(default_factory=list)


class Engine:
    def __init__(
        self,
        source: SeriesSource,
        *,
        max_samples: int = DEFAULT_MAX_SAMPLES,
        lookback_ms: int = DEFAULT_LOOKBACK_MS,
    ) -> None:
        self.source = source
        self.max_samples = max_samples
        self.lookback_ms = lookback_ms

    def _evaluator(self, steps: np.ndarray, start: int, end: int, deadline: float | None) -> Evaluator:
        return Evaluator(
            self.source,
            steps,
            query_start=start,
            query_end=end,
            lookback_ms=self.lookback_ms,
            budget=Budget(self.max_samples, deadline),
        )

    def instant(self, expr: str, time_ms: int, *, deadline: float | None = None) -> Result:
        """Evaluate at one instant (`/api/v1/query`). `deadline` is a `time.monotonic()` value."""
        node = parse(expr)
        ev = self._evaluator(np.array([time_ms], dtype=np.int64), time_ms, time_ms, deadline)
        t = format_time(time_ms)
        inner = node
        while isinstance(inner, ast.Paren):
            inner = inner.expr
        if node.type == ast.MATRIX:
            return Result("matrix", _matrix(ev.matrix(inner)))
        value = ev.eval(node)
        if isinstance(value, str):
            return Result("string", [t, value])
        if isinstance(value, np.ndarray):
            return Result("scalar", [t, format_value(float(value[0]))])
        value = expect(value, Block)
        out = []
        for ls, v, m in zip(value.labels, value.v[:, 0].tolist(), value.m[:, 0].tolist()):
            if m:
                out.append({"metric": dict(ls), "value": [t, format_value(v)]})
        return Result("vector", out)

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int, *, deadline: float | None = None) -> Result:
        """Evaluate at start, start+step, ... <= end (`/api/v1/query_range`); always a matrix."""
        if step_ms <= 0:
            raise BadDataError("zero or negative query resolution step widths are not accepted. Try a positive integer")
        if end_ms < start_ms:
            raise BadDataError("end timestamp must not be before start time")
        if (end_ms - start_ms) // step_ms + 1 > MAX_POINTS_PER_SERIES:
            raise BadDataError(
                f"exceeded maximum resolution of {MAX_POINTS_PER_SERIES:,} points per timeseries. "
                "Try decreasing the query resolution (?step=XX)"
            )
        node = parse(expr)
        if node.type not in (ast.SCALAR, ast.VECTOR):
            raise BadDataError(
                f'invalid expression type "{_type_name(node.type)}" for range query, must be Scalar or instant Vector'
            )
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        ev = self._evaluator(steps, start_ms, end_ms, deadline)
        value = ev.eval(node)
        seconds = steps / 1000.0
        if isinstance(value, np.ndarray):
            points = list(map(list, zip(seconds.tolist(), format_values(value))))
            return Result("matrix", [{"metric": {}, "values": points}])
        out = []
        for ls, v, m in zip(*_sorted(expect(value, Block))):
            if not m.any():
                continue
            points = list(map(list, zip(seconds[m].tolist(), format_values(v[m]))))
            out.append({"metric": dict(ls), "values": points})
        return Result("matrix", out)


def _sorted(block: Block):
    block = sort_rows(block)
    return block.labels, block.v, block.m


def _matrix(series: list[Series]) -> list[dict]:
    out = []
    for s in sorted(series, key=lambda s: s.labels):
        points = [[format_time(t), format_value(v)] for t, v in zip(s.t.tolist(), s.v.tolist())]
        out.append({"metric": dict(s.labels), "values": points})
    return out


def _type_name(t: str) -> str:
    return {ast.MATRIX: "range vector", ast.STRING: "string"}.get(t, t)
