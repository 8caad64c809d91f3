"""How many series there are, and how many may be: the series limits of ingest and the
cardinality view (Prometheus' `GET /api/v1/status/tsdb`).

Limits. Every series costs index space for as long as it is retained, and a client that
puts a request id or a timestamp in a dimension makes a new series per point. Like
VictoriaMetrics' `-maxSeries` and Prometheus' `sample_limit`, ingest refuses the points
that would create a series beyond `max_per_metric` series of one metric or `max_total` in
all, each with a rejection that names the limit and the option that sets it; points of
known series are always taken. The counts come from the store (cached for a few seconds,
plus what this process created since), so the limits are exact on one `weir serve` and
within a few seconds' worth of new series across concurrent Lambda instances.

The view answers with Prometheus' JSON shape, so tools that read it work unchanged; the
metric name counts as the label `__name__`, as in Prometheus.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import msgspec

from weir.errors import InvalidInputError
from weir.metrics.series import Series

DEFAULT_MAX_SERIES_PER_METRIC = 1_000_000
DEFAULT_MAX_SERIES = 2_000_000
COUNTS_TTL_SECONDS = 10.0
NAME_LABEL = "__name__"


class SeriesLimitError(InvalidInputError):
    code = "series_limit"


class SeriesLimits(msgspec.Struct, frozen=True):
    max_per_metric: int = DEFAULT_MAX_SERIES_PER_METRIC
    max_total: int = DEFAULT_MAX_SERIES


class SeriesBudget:
    """Admits new series within the limits; ingest asks it once per series it has not seen."""

    def __init__(self, counts: Callable[[], dict[str, int]], limits: SeriesLimits,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch = counts
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._total = 0
        self._at = float("-inf")

    def admit(self, s: Series) -> None:
        """Count `s` in, or raise SeriesLimitError naming the limit it would pass."""
        with self._lock:
            if self.clock() - self._at > COUNTS_TTL_SECONDS:
                self._counts = dict(self._fetch())
                self._total = sum(self._counts.values())
                self._at = self.clock()
            have = self._counts.get(s.name, 0)
            if have >= self.limits.max_per_metric:
                raise SeriesLimitError(
                    f"series limit: metric {s.name!r} has {have} series, the most allowed per metric "
                    f"(--max-series-per-metric {self.limits.max_per_metric}); {s.key[:200]} would be another. "
                    "Remove the dimension that changes with every point, or raise the limit")
            if self._total >= self.limits.max_total:
                raise SeriesLimitError(
                    f"series limit: {self._total} series are stored, the most allowed "
                    f"(--max-series {self.limits.max_total}); {s.key[:200]} would be another. "
                    "Remove dimensions that change with every point, or raise the limit")
            self._counts[s.name] = have + 1
            self._total += 1


# -- the cardinality view ---------------------------------------------------------------

class NameValue(msgspec.Struct):
    name: str
    value: int


class HeadStats(msgspec.Struct):
    numSeries: int  # noqa: N815 - Prometheus' field names
    numLabelPairs: int  # noqa: N815
    chunkCount: int  # noqa: N815
    minTime: int  # noqa: N815 - milliseconds
    maxTime: int  # noqa: N815


class TsdbData(msgspec.Struct):
    headStats: HeadStats  # noqa: N815
    seriesCountByMetricName: list[NameValue]  # noqa: N815
    labelValueCountByLabelName: list[NameValue]  # noqa: N815
    memoryInBytesByLabelName: list[NameValue]  # noqa: N815
    seriesCountByLabelValuePair: list[NameValue]  # noqa: N815


class TsdbStatus(msgspec.Struct):
    data: TsdbData
    status: str = "success"


def tsdb_status(store, limit: int = 10) -> TsdbStatus:
    """The view from the store's series counts and label statistics (`MetricStore.label_stats`);
    chunk count and time range where the store can tell (`chunk_stats`), else 0."""
    names = store.metric_names()
    keys, pairs = store.label_stats()
    chunks, min_ms, max_ms = store.chunk_stats() if hasattr(store, "chunk_stats") else (0, 0, 0)
    values = [(k, n) for k, n, _ in keys] + [(NAME_LABEL, len(names))]
    memory = [(k, b) for k, _, b in keys] + [(NAME_LABEL, sum(len(n.encode()) for n in names))]
    by_pair = [(f"{k}={v}", n) for k, v, n in pairs[:limit]] + [(f"{NAME_LABEL}={n}", c) for n, c in names.items()]
    head = HeadStats(numSeries=sum(names.values()), numLabelPairs=len(pairs) + len(names), chunkCount=chunks,
                     minTime=min_ms, maxTime=max_ms)
    return TsdbStatus(TsdbData(head, _top(names.items(), limit), _top(values, limit), _top(memory, limit),
                               _top(by_pair, limit)))


def _top(items, limit: int) -> list[NameValue]:
    ordered = sorted(items, key=lambda kv: (-kv[1], kv[0]))
    return [NameValue(k, v) for k, v in ordered[:limit]]


def parse_limit(text: str | None, default: int = 10, most: int = 10_000) -> int:
    if text is None or text == "":
        return default
    if not (text.isascii() and text.isdigit() and len(text) < 10) or not 1 <= int(text) <= most:
        raise InvalidInputError(f"limit: a whole number from 1 to {most}, got {text[:40]!r}")
    return int(text)
