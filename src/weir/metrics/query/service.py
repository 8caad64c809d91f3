"""Answering metric queries: parse the parameters, pick the series, aggregate per period.

`start` is rounded down and `end` up to whole periods, so every period reported covers
its full width and the same query always returns the same buckets.

The reading is `read.py`'s: the coarsest rollups that answer exactly, raw points for
the rest, percentiles from sketches (marked as estimates) where the points have expired.
Groups are streamed: series are read and folded a block of groups at a time, so memory
follows the block, not the query; the answer says which resolution served which span.

Every query is bounded before it reads a point (issue 18): the series it selects are counted
through the store's inverted index (at most MAX_QUERY_SERIES; `!=` and regex filters apply
to what the equality filters select), its groups and the values of its answer are counted
from those series and its periods (MAX_GROUPS, MAX_RESPONSE_VALUES), and where only raw
points answer and the store can estimate them from its chunk metadata (`estimate_points`),
that estimate must stay under MAX_POINTS_SCANNED. A query past a bound is refused with a
413 or 422 saying how to narrow it; the work bounds are checked again as blocks are read.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from itertools import accumulate, repeat

from weir.errors import InvalidInputError, NotFoundError, PayloadTooLargeError, WeirError
from weir.metrics import limits
from weir.metrics.model import (
    MetricList,
    MetricSummary,
    QueryGroup,
    QueryResult,
    ResolutionSpan,
    SeriesList,
    SeriesOut,
)
from weir.metrics.query import read as readpath
from weir.metrics.query.params import (
    DEFAULT_LIST_LIMIT,
    MAX_LIST_LIMIT,
    Filter,
    decode_cursor,
    dimension_filters,
    encode_cursor,
    list_limit,
    parse_group_by,
    parse_stats,
    single,
)
from weir.metrics.series import Series, check_name
from weir.metrics.sketch import ALPHA
from weir.metrics.timeutil import NS, check_ns, ns_to_datetime, ns_to_rfc3339, parse_duration, parse_time

__all__ = ["DEFAULT_LIST_LIMIT", "MAX_LIST_LIMIT", "QueryBounds", "QueryService", "QueryTooLargeError"]

MAX_PERIODS = 100_000
# Points and records are folded a block at a time, so these bound the time a query takes,
# not its memory; the values ranked for percentiles are held for a block of groups, hence
# their own bound (README "Query limits").
MAX_POINTS_SCANNED = 200_000_000
MAX_ROLLUP_RECORDS = 50_000_000
MAX_PERCENTILE_POINTS = 20_000_000
MAX_QUERY_SERIES = 100_000
MAX_GROUPS = 10_000
MAX_RESPONSE_VALUES = 2_000_000  # groups x periods x statistics: ~40 MB of JSON
BLOCK_SERIES = 250  # series read and folded at once: a day of 10 s points is 2.2M of them
BLOCK_CELLS = 2_000_000  # (group, period) cells folded at once
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
        # Totals since start, for tests, benchmarks and debugging: raw points folded,
        # rollup records used (minute and hourly) and the points they stood for, and
        # queries answered (partly) from rollups.
        self.read_counts = {"raw_points": 0, "rollup_minutes": 0, "rollup_hours": 0, "rollup_points": 0,
                            "rollup_queries": 0}
        self._counts_lock = threading.Lock()

    def list_metrics(self) -> MetricList:
        names = self.store.metric_names()
        return MetricList([MetricSummary(n, c) for n, c in sorted(names.items())])

    def list_series(self, name: str, params: Mapping) -> SeriesList:
        """One page of the series of a metric, by canonical key; `next_cursor` asks for the next."""
        params = single(params)
        filters = dimension_filters(params, allowed=_LIST_PARAMS)
        limit = list_limit(params.get("limit"))
        after = decode_cursor(params["cursor"]) if params.get("cursor") else None
        check_name(name)
        eq = {f.key: f.value for f in filters if f.indexed}
        rest = [f for f in filters if not f.indexed]
        found: list[Series] = []
        while len(found) <= limit:  # pages of the index until the other filters keep enough
            page = self.store.select(name, eq, limit=limit + 1, after=after)
            found += _keep(page, rest)
            if len(page) <= limit:
                break
            after = page[-1].key
        if not found and params.get("cursor") is None:
            self._exists(name)
        cursor = encode_cursor(found[limit - 1].key) if len(found) > limit else None
        return SeriesList(name, [SeriesOut(s.key, s.name, s.dimensions, s.type, s.unit) for s in found[:limit]],
                          cursor)

    def query(self, name: str, params: Mapping) -> QueryResult:
        # A store with background work (the SQLite store's finalising and exports) holds it
        # back for the whole query, not only while points are read: a short query otherwise
        # shared the GIL with it for its selection and its answer.
        busy = getattr(self.store, "querying", None)
        with busy() if busy is not None else nullcontext():
            return self._query(name, params)

    def _query(self, name: str, params: Mapping) -> QueryResult:
        params = single(params)
        now = int(self.clock() * NS)
        period = parse_duration(params.get("period", "60"), "period") * NS
        start = parse_time(params.get("start", "-1h"), "start", now)
        end = parse_time(params.get("end", "now"), "end", now)
        if end <= start:
            raise InvalidInputError("end: must be later than start")
        stats = parse_stats(params.get("stat", "avg"))
        group_by = parse_group_by(params.get("group_by", ""))
        start = check_ns(start // period * period, "start")  # whole periods may reach past the range
        end = check_ns(-(-end // period) * period, "end")
        n_periods = (end - start) // period
        if n_periods > MAX_PERIODS:
            raise InvalidInputError(
                f"period: {n_periods} periods between start and end; at most {MAX_PERIODS} "
                "are returned, so use a longer period or a shorter range"
            )
        series = self._select(name, dimension_filters(params, allowed=_QUERY_PARAMS))
        groups: dict[tuple[str, ...], list[Series]] = {}
        for s in series:
            groups.setdefault(tuple(s.dimensions.get(k, "") for k in group_by), []).append(s)
        self._check_answer(group_by, len(groups), n_periods, len(stats))
        p = readpath.plan(self.store, stats, period, start, end, now, self.retention_ns)
        estimate = getattr(self.store, "estimate_points", None)
        # Bounded before reading where raw points answer all but expired hours (hourly records,
        # which stand for far more points, are bounded by MAX_ROLLUP_RECORDS as they are read):
        # chunk metadata counts only what is still stored raw.
        if series and estimate is not None and p.level in (None, "1m"):
            expected = estimate([s.id for s in series], p.raw_from, end)
            if expected > self.bounds.max_points:
                raise PayloadTooLargeError(
                    f"the query would aggregate about {expected} points (at most {self.bounds.max_points}); "
                    "narrow it with dimension filters or a shorter range")
        rank_of = {s.id: i for i, s in enumerate(series)}  # series are sorted by key
        out, spans, estimated = self._fold(p, sorted(groups.items()), rank_of, stats, group_by, period, n_periods)
        return QueryResult(name, ns_to_rfc3339(start), ns_to_rfc3339(end), period // NS, stats, out,
                           resolutions=spans, estimated=estimated)

    def _check_answer(self, group_by: list[str], n_groups: int, n_periods: int, n_stats: int) -> None:
        b = self.bounds
        if n_groups > b.max_groups:
            raise QueryTooLargeError(
                f"group_by: {','.join(group_by)!r} has {n_groups} values among the series selected; at most "
                f"{b.max_groups} groups are returned, so group by a dimension with fewer values or add "
                "dim.<key>=<value> filters")
        if n_groups * n_periods * n_stats > b.max_values:
            raise QueryTooLargeError(
                f"the answer would hold {n_groups * n_periods * n_stats} values ({n_groups} groups x "
                f"{n_periods} periods x {n_stats} statistics); at most {b.max_values}: use a longer "
                "period, a shorter range, fewer statistics or fewer groups")

    def _fold(self, p, groups, rank_of, stats, group_by, period, n_periods):
        from weir.metrics.query.fold import PeriodFold

        first = ns_to_datetime(p.start)
        step = timedelta(seconds=period // NS)
        out: list[QueryGroup] = []
        totals = readpath.BlockRead()
        covered: list[tuple[int, int]] = []
        for batch in _batches(groups, n_periods):
            fold = PeriodFold(len(batch), p.start, period, n_periods, stats)
            members = [(g, s) for g, (_, ss) in enumerate(batch) for s in ss]
            group_of = {s.id: g for g, s in members}
            for i in range(0, len(members), BLOCK_SERIES):
                ids = [s.id for _, s in members[i : i + BLOCK_SERIES]]
                got = readpath.read_block(self.store, p, ids, fold, group_of, rank_of)
                self._count(got)
                totals.raw_points += got.raw_points
                totals.records += got.records
                totals.estimated |= got.estimated
                covered = got.covered if got.level else covered
                self._check_work(totals, fold)
            cells, columns = fold.columns()
            out += _groups(batch, group_by, cells, columns, n_periods, first, step)
        spans = _resolutions(p, covered)
        estimated = {s: ALPHA for s in stats if s.startswith("p")} if totals.estimated else None
        return out, spans, estimated

    def _check_work(self, totals: readpath.BlockRead, fold) -> None:
        if totals.raw_points > self.bounds.max_points or totals.records > MAX_ROLLUP_RECORDS:
            what = f"{totals.raw_points} points" + (f" and {totals.records} rollups" if totals.records else "")
            raise PayloadTooLargeError(
                f"the query would aggregate more than {what}; at most {self.bounds.max_points} points and "
                f"{MAX_ROLLUP_RECORDS} rollups are; narrow it with dimension filters or a shorter range"
            )
        held = fold.held_values
        if held > MAX_PERCENTILE_POINTS:
            raise PayloadTooLargeError(
                f"percentiles over {held} points at once; at most {MAX_PERCENTILE_POINTS} are ranked per block of "
                "groups: group by more keys, filter, or shorten the range"
            )

    def _count(self, got: readpath.BlockRead) -> None:
        with self._counts_lock:
            c = self.read_counts
            c["raw_points"] += got.raw_points
            if got.records:
                c["rollup_queries"] += 1
                c["rollup_minutes" if got.level == "1m" else "rollup_hours"] += got.records
                c["rollup_points"] += got.record_points

    def _select(self, name: str, filters: list[Filter]) -> list[Series]:
        """The series a query reads: counted first through the store's index (equality
        filters), so a query over too many series is refused before they are even loaded;
        `!=` and regex filters then apply to those, each distinct value judged once."""
        check_name(name)
        eq = {f.key: f.value for f in filters if f.indexed}
        n = self.store.count_selected(name, eq, self.bounds.max_series)
        if n > self.bounds.max_series:
            raise QueryTooLargeError(
                f"the query selects more than {self.bounds.max_series} series of {name!r}; add "
                "dim.<key>=<value> filters (GET /metrics/{name}/series lists them, a page at a time)")
        if n == 0:
            self._exists(name)
            return []
        return _keep(self.store.select(name, eq), [f for f in filters if not f.indexed])

    def _exists(self, name: str) -> None:
        if not self.store.count_selected(name, {}, 0):
            raise NotFoundError(f"metric {name!r} has no series; GET /metrics lists the metrics that do")


def _keep(series: list[Series], filters: list[Filter]) -> list[Series]:
    for f in filters:
        verdict: dict[str | None, bool] = {}
        kept = []
        for s in series:
            v = s.dimensions.get(f.key)
            ok = verdict.get(v)
            if ok is None:
                ok = verdict[v] = f.matches(s.dimensions)
            if ok:
                kept.append(s)
        series = kept
    return series


def _batches(groups: list, n_periods: int):
    """Consecutive groups, as many at once as BLOCK_CELLS and BLOCK_SERIES allow (at least one)."""
    batch: list = []
    series = 0
    for item in groups:
        if batch and ((len(batch) + 1) * n_periods > BLOCK_CELLS or series + len(item[1]) > BLOCK_SERIES):
            yield batch
            batch, series = [], 0
        batch.append(item)
        series += len(item[1])
    if batch:
        yield batch


def _groups(batch, group_by, cells, columns, n_periods, first, step) -> list[QueryGroup]:
    """Plain dicts shaped like StatPoint: building 10,000 structs costs more than the
    statistics themselves, and the encoded JSON is identical."""
    import numpy as np

    # each period's start as a running sum (one datetime addition each, in C): `first + i * step`
    # made a timedelta product per period too, 8x slower (datetime arithmetic is exact
    # integer microseconds, so both give the same datetimes)
    stamps = (list(accumulate(repeat(step, n_periods - 1), initial=first))
              if n_periods <= 4 * len(cells) + 16 else None)
    keys = ("timestamp", *columns)
    cols = [c.tolist() for c in columns.values()]
    if stamps is not None and len(cells) == len(batch) * n_periods:  # every cell has points
        times = stamps * len(batch)
    else:
        i_of = (cells % n_periods).tolist()
        times = [stamps[i] for i in i_of] if stamps is not None else [first + i * step for i in i_of]
    rows = _rows(keys, times, cols)
    bounds = np.searchsorted(cells, np.arange(len(batch) + 1) * n_periods).tolist() if len(cells) else [0] * (
        len(batch) + 1)
    return [QueryGroup(dict(zip(group_by, key)), len(members), rows[bounds[g] : bounds[g + 1]])  # type: ignore[arg-type]  # dicts: see above
            for g, (key, members) in enumerate(batch)]


def _rows(keys: tuple[str, ...], times: list, cols: list[list]) -> list[dict]:
    """One dict per datapoint; dict displays for up to three statistics (several times
    faster than dict(zip()) when an answer holds 24,000 datapoints)."""
    t = keys[0]
    if len(cols) == 1:
        (a,) = keys[1:]
        return [{t: x, a: p} for x, p in zip(times, cols[0])]
    if len(cols) == 2:
        a, b = keys[1:]
        return [{t: x, a: p, b: q} for x, p, q in zip(times, *cols)]
    if len(cols) == 3:
        a, b, c = keys[1:]
        return [{t: x, a: p, b: q, c: r} for x, p, q, r in zip(times, *cols)]
    return [dict(zip(keys, vals)) for vals in zip(times, *cols)]


def _resolutions(p: readpath.Plan, covered: list[tuple[int, int]]) -> list[ResolutionSpan]:
    """Which resolution answered which part of [start, end): rollups where they covered,
    raw points from `raw_from` elsewhere."""
    spans: list[tuple[int, int, str]] = [(a, b, p.level or "raw") for a, b in covered]
    spans += [(a, b, "raw") for a, b in readpath.gaps(p.raw_from, p.end, covered)]
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for a, b, r in spans:
        if merged and merged[-1][2] == r and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b, r)
        else:
            merged.append((a, b, r))
    return [ResolutionSpan(ns_to_rfc3339(a), ns_to_rfc3339(b), r) for a, b, r in merged]  # type: ignore[arg-type]
