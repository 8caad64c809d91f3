"""The PromQL engine: evaluate an expression at one instant or over a range of steps.

Semantics are Prometheus 2.42's. `Result.result` is already in the shape of Prometheus'
`data.result`, ready to encode: values are strings formatted as Go's `strconv.FormatFloat(v,
'f', -1, 64)` and timestamps float seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from weir.promql.parse import parse_selector
from weir.promql.source import SeriesSource

__all__ = ["Engine", "Result", "parse_selector"]

DEFAULT_MAX_SAMPLES = 50_000_000
DEFAULT_LOOKBACK_MS = 300_000


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

    def instant(self, expr: str, time_ms: int, *, deadline: float | None = None) -> Result:
        """Evaluate at one instant (`/api/v1/query`). `deadline` is a `time.monotonic()` value."""
        raise NotImplementedError("PromQL evaluation lands in the next commits")

    def range(self, expr: str, start_ms: int, end_ms: int, step_ms: int, *, deadline: float | None = None) -> Result:
        """Evaluate at start, start+step, ... <= end (`/api/v1/query_range`); always a matrix."""
        raise NotImplementedError("PromQL evaluation lands in the next commits")
