"""An in-memory `SeriesSource` for unit tests of the engine (the differential suite and
`test_source.py` use the real SQLite store)."""

from __future__ import annotations

import numpy as np

from weir.promql.source import Matcher, SeriesData, SeriesInfo, matches_all


class MemorySource:
    def __init__(self, series: list[tuple[dict[str, str], list[int], list[float]]]) -> None:
        self.data = [
            (labels, np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64)) for labels, t, v in series
        ]
        self.reads = 0

    def series(self, matchers: list[Matcher], start_ms: int, end_ms: int) -> list[SeriesInfo]:
        return [SeriesInfo(dict(labels)) for labels, _, _ in self.data if matches_all(matchers, labels)]

    def read(self, matchers: list[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        self.reads += 1
        out = []
        for labels, t, v in self.data:
            if matches_all(matchers, labels):
                keep = (t >= start_ms) & (t <= end_ms)
                if keep.any():
                    out.append(SeriesData(dict(labels), t[keep], v[keep]))
        return out
