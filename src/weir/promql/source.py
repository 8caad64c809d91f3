"""Where PromQL gets its samples: label matchers, the `SeriesSource` port and Weir's adapter.

A Weir metric is a Prometheus series family: its name is `__name__` unchanged (dots and all:
select `http.server.duration` as `{"http.server.duration"}` or `{__name__="..."}`), its
dimensions are the labels. `StoreSource` answers through the store's `select` and the one
read path's `read_points` (`weir.metrics.query.read`: the store's `read_arrays`), which
Weir's query API uses too, so making that path faster speeds PromQL as well.

Weir stores nanoseconds; PromQL works in milliseconds. A point's time is floored to its
millisecond, and when several points of a series fall in one millisecond the latest wins
(Prometheus holds one sample per millisecond).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from weir.promql.errors import BadDataError
from weir.promql.regex import compile_anchored

if TYPE_CHECKING:
    import numpy as np

NS_PER_MS = 1_000_000
OPS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher; `=~` and `!~` are fully anchored RE2-like regexes (see `regex`)."""

    name: str
    op: str
    value: str
    _re: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise BadDataError(f"unknown label matcher operator {self.op!r}")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_re", compile_anchored(self.value))

    def matches(self, value: str) -> bool:
        """Whether a label value matches; a missing label has the value ""."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = self._re is not None and self._re.fullmatch(value) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        value = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{value}"'


def matches_all(matchers: Iterable[Matcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels.get(m.name, "")) for m in matchers)


@dataclass(slots=True)
class SeriesInfo:
    """A series' labels (with `__name__`) and its metric's type and unit (for /api/v1/metadata)."""

    labels: dict[str, str]
    type: str = "gauge"
    unit: str | None = None


@dataclass(slots=True)
class SeriesData:
    """A series' samples: `t` int64 milliseconds ascending and unique, `v` float64."""

    labels: dict[str, str]
    t: np.ndarray
    v: np.ndarray


@dataclass(slots=True)
class SeriesBlock:
    """Samples of several series end to end: series i (`labels[i]`) owns `lens[i]` samples
    (possibly none) after those of the series before it; `t`, `v` as in `SeriesData`."""

    labels: list[dict[str, str]]
    lens: np.ndarray
    t: np.ndarray
    v: np.ndarray


class SeriesSource(Protocol):
    def series(self, matchers: list[Matcher], start_ms: int, end_ms: int) -> list[SeriesInfo]:
        """The series the matchers select. `start_ms`/`end_ms` may narrow the answer but need
        not: a source without a time index lists every matching series."""

    def read(self, matchers: list[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        """Samples in [start_ms, end_ms] (both ends included) of each selected series that
        has any there, sorted by time."""


class StoreSource:
    """`SeriesSource` over Weir's `MetricStore` port (SQLite or DynamoDB)."""

    def __init__(self, store) -> None:
        self.store = store

    def _select(self, matchers: list[Matcher]) -> list:
        names = [m for m in matchers if m.name == "__name__"]
        others = [m for m in matchers if m.name != "__name__"]
        exact = [m.value for m in names if m.op == "="]
        if exact:
            candidates = [exact[0]] if all(m.matches(exact[0]) for m in names) else []
        else:
            candidates = sorted(n for n in self.store.metric_names() if all(m.matches(n) for m in names))
        # `label="value"` (not empty: that means "absent") is a dimension filter the store's
        # inverted index answers, so a few series among millions are found without a scan.
        exact_dims = {m.name: m.value for m in others if m.op == "=" and m.value}
        out = []
        for name in candidates:
            for s in self.store.select(name, exact_dims):
                if all(m.matches(s.dimensions.get(m.name, "")) for m in others):
                    out.append(s)
        return out

    def select(self, matchers: list[Matcher]) -> list:
        """The store's `Series` the matchers select (remote read reads them in batches)."""
        return self._select(matchers)

    def series(self, matchers: list[Matcher], start_ms: int, end_ms: int) -> list[SeriesInfo]:
        return [SeriesInfo({"__name__": s.name, **s.dimensions}, s.type, s.unit) for s in self._select(matchers)]

    def read_block(self, matchers: list[Matcher], start_ms: int, end_ms: int,
                   max_samples: int | None = None) -> SeriesBlock:
        """What `read` answers, as the one read path hands it over: every series' samples
        end to end in two arrays (in series id order), floored to milliseconds and the latest
        of a millisecond kept, all in a few numpy passes whatever the number of series.
        More than `max_samples` stored points: TooManyPointsError, raised by the store
        before it decodes them where it can (SQLite)."""
        import numpy as np  # here, not at import: the metadata endpoints need matchers only

        from weir.metrics.query.read import read_points
        from weir.promql.values import in_milliseconds

        selected = self._select(matchers)
        if not selected:
            return SeriesBlock([], np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0))
        # The one read path's bulk read: chunks decoded into arrays, never into Python lists.
        block = read_points(self.store, [s.id for s in selected], start_ms * NS_PER_MS, (end_ms + 1) * NS_PER_MS,
                            max_samples)
        lens, t, v = in_milliseconds(block)
        by_id = {s.id: s for s in selected}
        labels = [{"__name__": by_id[sid].name, **by_id[sid].dimensions} for sid in block.ids.tolist()]
        return SeriesBlock(labels, lens, t, v)

    def read_hours(self, matchers: list[Matcher], first_ms: int, end_ms: int, max_samples: int | None = None):
        """What `*_over_time` over whole hours needs, from hourly records where the store
        keeps them (`weir.promql.hourly`); None where the points must answer."""
        from weir.promql.hourly import gather

        return gather(self.store, self._select(matchers), first_ms, end_ms, max_samples)

    def read(self, matchers: list[Matcher], start_ms: int, end_ms: int) -> list[SeriesData]:
        b = self.read_block(matchers, start_ms, end_ms)
        out, o = [], 0
        for labels, n in zip(b.labels, b.lens.tolist()):
            if n:
                out.append(SeriesData(labels, b.t[o : o + n], b.v[o : o + n]))
            o += n
        return out

