"""Answering metric queries: parse the parameters, pick the series, aggregate per period.

`start` is rounded down and `end` up to whole periods, so every period reported covers
its full width and the same query always returns the same buckets.

When the store keeps per-minute rollups (`ports.RollupReader`) and the query needs only
count, sum, avg, min and max over whole minutes, the spans the store has rollups for are
answered from them and the rest (open or late-written hours, edges) from raw points:
the answer is the same, only cheaper. `read_counts` says how much came from where.

Every query is bounded before it reads a point (issue 18): the series it selects are counted
through the store's inverted index (at most MAX_QUERY_SERIES), its groups and the values of
its answer are counted from those series and its periods (MAX_GROUPS, MAX_RESPONSE_VALUES),
and where the store can estimate the points from its chunk metadata (`estimate_points`)
that estimate must stay under MAX_POINTS_SCANNED. A query past a bound is refused with a
413 or 422 saying how to narrow it; the points bound is checked again after the read, for
stores that cannot estimate.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from weir.errors import InvalidInputError, NotFoundError, PayloadTooLargeError, WeirError
from weir.metrics import limits
from weir.metrics.aggregate import STATS, bucket_many, bucket_sorted, summarizer
from weir.metrics.model import (
    MetricList,
    MetricSummary,
    QueryGroup,
    QueryResult,
    SeriesList,
    SeriesOut,
)
from weir.metrics.ports import RollupRead, RollupReader
from weir.metrics.rollup import PeriodTotals, usable
from weir.metrics.series import Series, check_dimensions, check_name
from weir.metrics.timeutil import NS, check_ns, ns_to_datetime, ns_to_rfc3339, parse_duration, parse_time

MAX_PERIODS = 100_000
MAX_POINTS_SCANNED = 20_000_000
# A minute rollup holds five numbers where a raw point holds two: this many minutes take
# about the memory of MAX_POINTS_SCANNED raw points, so rollups do not lift that bound.
MAX_ROLLUP_MINUTES = 8_000_000
MAX_QUERY_SERIES = 100_000
MAX_GROUPS = 10_000
MAX_RESPONSE_VALUES = 2_000_000  # groups x periods x statistics: ~40 MB of JSON
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 1_000, 10_000
DIM_PREFIX = "dim."
_QUERY_PARAMS = {"start", "end", "period", "stat", "group_by"}
_LIST_PARAMS = {"limit", "cursor"}


@dataclass(frozen=True)
class QueryBounds:
    """How much one query may select, read and answer (the module docstring says why)."""

    max_series: int = MAX_QUERY_SERIES
    max_groups: int = MAX_GROUPS
    max_values: int = MAX_RESPONSE_VALUES
    max_points: int = MAX_POINTS_SCANNED


class QueryTooLargeError(WeirError):
    """A query that is valid but asks for more than a bound allows; the message says which."""

    status = 422
    code = "query_too_large"


class QueryService:
    def __init__(
        self,
        store,
        retention_seconds: int = limits.DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
        bounds: QueryBounds = QueryBounds(),
    ) -> None:
        self.store = store
        self.bounds = bounds
        self.retention_ns = retention_seconds * NS
        self.clock = clock
        # Totals since start: raw points aggregated, minute rollups used and the points they
        # stood for, queries answered (partly) from rollups. For tests, benchmarks, debugging.
        self.read_counts = {"raw_points": 0, "rollup_minutes": 0, "rollup_points": 0, "rollup_queries": 0}
        self._counts_lock = threading.Lock()

    def list_metrics(self) -> MetricList:
        names = self.store.metric_names()
        return MetricList([MetricSummary(n, c) for n, c in sorted(names.items())])

    def list_series(self, name: str, params: Mapping[str, str]) -> SeriesList:
        """One page of the series of a metric, by canonical key; `next_cursor` asks for the next."""
        filters = dimension_filters(params, allowed=_LIST_PARAMS)
        limit = _limit(params.get("limit"))
        after = decode_cursor(params["cursor"]) if params.get("cursor") else None
        check_name(name)
        found = self.store.select(name, filters, limit=limit + 1, after=after)
        if not found and after is None:
            self._exists(name)
        cursor = encode_cursor(found[limit - 1].key) if len(found) > limit else None
        return SeriesList(name, [SeriesOut(s.key, s.name, s.dimensions, s.type, s.unit) for s in found[:limit]],
                          cursor)

    def query(self, name: str, params: Mapping[str, str]) -> QueryResult:
        now = int(self.clock() * NS)
        period = parse_duration(params.get("period", "60"), "period") * NS
        start = parse_time(params.get("start", "-1h"), "start", now)
        end = parse_time(params.get("end", "now"), "end", now)
        if end <= start:
            raise InvalidInputError("end: must be later than start")
        stats = parse_stats(params.get("stat", "avg"))
        group_by = params.get("group_by") or None
        if group_by is not None:
            check_dimensions({group_by: "x"})
        start = check_ns(start // period * period, "start")  # whole periods may reach past the range
        end = check_ns(-(-end // period) * period, "end")
        n_periods = (end - start) // period
        if n_periods > MAX_PERIODS:
            raise InvalidInputError(
                f"period: {n_periods} periods between start and end; at most {MAX_PERIODS} "
                "are returned, so use a longer period or a shorter range"
            )
        series = self._select(name, dimension_filters(params, allowed=_QUERY_PARAMS))
        read_from = max(start, now - self.retention_ns)
        ids = [s.id for s in series]
        n_groups = len({_group_key(s, group_by) for s in series})
        b = self.bounds
        if n_groups > b.max_groups:
            raise QueryTooLargeError(
                f"group_by: {group_by!r} has {n_groups} values among the series selected; at most {b.max_groups} "
                "groups are returned, so group by a dimension with fewer values or add dim.<key>=<value> filters")
        if n_groups * n_periods * len(stats) > b.max_values:
            raise QueryTooLargeError(
                f"the answer would hold {n_groups * n_periods * len(stats)} values ({n_groups} groups x "
                f"{n_periods} periods x {len(stats)} statistics); at most {b.max_values}: use a longer "
                "period, a shorter range, fewer statistics or fewer groups")
        estimate = getattr(self.store, "estimate_points", None)
        if ids and estimate is not None and not (usable(stats, period) and isinstance(self.store, RollupReader)):
            expected = estimate(ids, read_from, end)
            if expected > b.max_points:
                raise PayloadTooLargeError(
                    f"the query would aggregate about {expected} points (at most {b.max_points}); narrow "
                    "it with dimension filters or a shorter range")
        rollups = RollupRead()
        if ids and usable(stats, period) and isinstance(self.store, RollupReader):
            rollups = self.store.read_rollups(ids, read_from, end)
        data = self._read_raw(ids, read_from, end, rollups.covered) if ids else {}
        scanned = sum(len(v[0]) for v in data.values())
        minutes = sum(len(m) for m in rollups.series.values())
        self._count(scanned, minutes, rollups)
        if scanned > b.max_points or minutes > MAX_ROLLUP_MINUTES:
            what = f"{scanned} points" + (f" and {minutes} minute rollups" if minutes else "")
            raise PayloadTooLargeError(
                f"the query would aggregate {what}; narrow it with dimension filters or a shorter range"
            )
        groups: dict[tuple[str, ...], list[Series]] = {}
        for s in series:
            groups.setdefault(_group_key(s, group_by), []).append(s)
        summarize = summarizer(stats)
        first = ns_to_datetime(start)
        step = timedelta(seconds=period // NS)
        out = []
        for group_key, members in sorted(groups.items()):
            arrays = [data[s.id] for s in members if s.id in data]
            if rollups.covered:
                totals = PeriodTotals(start, period, n_periods)
                for ts, vals in arrays:
                    totals.add_points(ts, vals)
                for s in members:
                    if s.id in rollups.series:
                        totals.add_minutes(rollups.series[s.id])
                points = totals.summaries(stats, first, step)
            elif len(arrays) == 1:
                buckets = bucket_sorted(arrays[0][0], arrays[0][1], start, period, n_periods)
            else:
                buckets = bucket_many(arrays, start, period, n_periods).items()
            if not rollups.covered:
                # Plain dicts shaped like StatPoint: building 10,000 structs costs more than the
                # statistics themselves, and the encoded JSON is identical.
                points = [summarize(v, timestamp=first + i * step) for i, v in buckets]
            group = {group_by: group_key[0]} if group_by else {}
            out.append(QueryGroup(group, len(members), points))  # type: ignore[arg-type]  # dicts, not StatPoints: see above
        return QueryResult(name, ns_to_rfc3339(start), ns_to_rfc3339(end), period // NS, stats, out)

    def _read_raw(self, ids: list[int], start: int, end: int, covered: list[tuple[int, int]]) -> dict:
        """Raw points of [start, end) outside the spans answered from rollups."""
        gaps, at = [], start
        for a, b in covered:
            if a > at:
                gaps.append((at, a))
            at = max(at, b)
        if at < end:
            gaps.append((at, end))
        if len(gaps) == 1:
            return self.store.read(ids, *gaps[0])
        data: dict[int, tuple[list[int], list[float]]] = {}
        for a, b in gaps:  # in time order, so appending keeps each series sorted
            for sid, (ts, vals) in self.store.read(ids, a, b).items():
                got = data.setdefault(sid, ([], []))
                got[0].extend(ts)
                got[1].extend(vals)
        return data

    def _count(self, raw_points: int, minutes: int, rollups: RollupRead) -> None:
        with self._counts_lock:
            c = self.read_counts
            c["raw_points"] += raw_points
            if rollups.covered:
                c["rollup_queries"] += 1
                c["rollup_minutes"] += minutes
                c["rollup_points"] += sum(m.points() for m in rollups.series.values())

    def _select(self, name: str, filters: dict[str, str]) -> list[Series]:
        """The series a query reads: counted first (through the store's index), so a query
        over too many series is refused before they are even loaded."""
        check_name(name)
        n = self.store.count_selected(name, filters, self.bounds.max_series)
        if n > self.bounds.max_series:
            raise QueryTooLargeError(
                f"the query selects more than {self.bounds.max_series} series of {name!r}; add "
                "dim.<key>=<value> filters (GET /metrics/{name}/series lists them, a page at a time)")
        if n == 0:
            self._exists(name)
            return []
        return self.store.select(name, filters)

    def _exists(self, name: str) -> None:
        if not self.store.count_selected(name, {}, 0):
            raise NotFoundError(f"metric {name!r} has no series; GET /metrics lists the metrics that do")


def _group_key(series: Series, group_by: str | None) -> tuple[str, ...]:
    return (series.dimensions.get(group_by, ""),) if group_by else ()


def _limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIST_LIMIT
    if not (text.isascii() and text.isdigit() and len(text) < 10) or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise InvalidInputError(f"limit: a whole number from 1 to {MAX_LIST_LIMIT}, got {text[:40]!r}")
    return int(text)


def encode_cursor(key: str) -> str:
    """A listing's cursor: the last key of the page, base64url (opaque to clients)."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("cursor: not one this API returned; repeat the request without it") from None


def parse_stats(text: str) -> list[str]:
    stats = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stats if s not in STATS]
    if unknown or not stats:
        raise InvalidInputError(
            f"stat: unknown statistic {', '.join(map(repr, unknown)) or '(none)'}; "
            f"choose from {','.join(STATS)}"
        )
    return list(dict.fromkeys(stats))


def dimension_filters(params: Mapping[str, str], allowed: set[str]) -> dict[str, str]:
    """`dim.host=h1` → {"host": "h1"}; any other unknown parameter is an error, not ignored."""
    filters = {}
    for k, v in params.items():
        if k.startswith(DIM_PREFIX):
            filters[k[len(DIM_PREFIX) :]] = v
        elif k not in allowed:
            known = ", ".join(sorted(allowed | {"dim.<key>"}))
            raise InvalidInputError(f"{k}: unknown query parameter; known: {known}")
    check_dimensions(filters)
    return filters
