"""Answering metric queries: parse the parameters, pick the series, aggregate per period.

`start` is rounded down and `end` up to whole periods, so every period reported covers
its full width and the same query always returns the same buckets.

The reading is `read.py`'s: the coarsest rollups that answer exactly, raw points for
the rest, percentiles from sketches (marked as estimates) where the points have expired.
Groups are streamed: series are read and folded a block of groups at a time, so memory
follows the block, not the query; the answer says which resolution served which span.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta

from weir.errors import InvalidInputError, NotFoundError, PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.aggregate import STATS
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
from weir.metrics.series import Series, check_dimensions, check_name
from weir.metrics.sketch import ALPHA
from weir.metrics.timeutil import NS, ns_to_datetime, ns_to_rfc3339, parse_duration, parse_time

MAX_PERIODS = 100_000
# Work bounds per query (docs: README "Query limits"). Points and records are folded a
# block at a time, so these bound time, not memory; the percentile values of one block
# of groups are held at once, hence the lower bound for them.
MAX_POINTS_SCANNED = 200_000_000
MAX_ROLLUP_RECORDS = 50_000_000
MAX_PERCENTILE_POINTS = 20_000_000
MAX_DATAPOINTS = 1_000_000  # (group, period) cells in one answer
MAX_GROUP_KEYS = 10
MAX_REGEX_LENGTH = 256
BLOCK_SERIES = 250  # series read and folded at once: a day of 10 s points is 2.2M of them
BLOCK_CELLS = 2_000_000  # (group, period) cells folded at once
DIM_PREFIX = "dim."
_QUERY_PARAMS = {"start", "end", "period", "stat", "group_by"}
# a quantified group that itself holds a quantifier: (a+)+, (a|b*)*, (x{2,}){3,} ...
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)(?:[*+]|\{\d+,)")


class QueryService:
    def __init__(
        self,
        store,
        retention_seconds: int = limits.DEFAULT_RETENTION_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
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
        filters = dimension_filters(single(params), allowed=set())
        found = self._select(name, filters)
        return SeriesList(name, [SeriesOut(s.key, s.name, s.dimensions, s.type, s.unit) for s in found])

    def query(self, name: str, params: Mapping) -> QueryResult:
        params = single(params)
        now = int(self.clock() * NS)
        period = parse_duration(params.get("period", "60"), "period") * NS
        start = parse_time(params.get("start", "-1h"), "start", now)
        end = parse_time(params.get("end", "now"), "end", now)
        if end <= start:
            raise InvalidInputError("end: must be later than start")
        stats = parse_stats(params.get("stat", "avg"))
        group_by = parse_group_by(params.get("group_by", ""))
        start = start // period * period
        end = -(-end // period) * period
        n_periods = (end - start) // period
        if n_periods > MAX_PERIODS:
            raise InvalidInputError(
                f"period: {n_periods} periods between start and end; at most {MAX_PERIODS} "
                "are returned, so use a longer period or a shorter range"
            )
        series = self._select(name, dimension_filters(params, allowed=_QUERY_PARAMS))
        p = readpath.plan(self.store, stats, period, start, end, now, self.retention_ns)
        groups: dict[tuple[str, ...], list[Series]] = {}
        for s in series:
            groups.setdefault(tuple(s.dimensions.get(k, "") for k in group_by), []).append(s)
        rank_of = {s.id: i for i, s in enumerate(series)}  # series are sorted by key
        out, spans, estimated = self._fold(p, sorted(groups.items()), rank_of, stats, group_by, period, n_periods)
        return QueryResult(name, ns_to_rfc3339(start), ns_to_rfc3339(end), period // NS, stats, out,
                           resolutions=spans, estimated=estimated)

    def _fold(self, p, groups, rank_of, stats, group_by, period, n_periods):
        from weir.metrics.query.fold import PeriodFold

        first = ns_to_datetime(p.start)
        step = timedelta(seconds=period // NS)
        out: list[QueryGroup] = []
        totals = readpath.BlockRead()
        cells_out = 0
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
                self._check(totals, fold)
            cells, columns = fold.columns()
            cells_out += len(cells)
            if cells_out > MAX_DATAPOINTS:
                raise PayloadTooLargeError(
                    f"the answer would hold more than {MAX_DATAPOINTS} datapoints (groups x periods); "
                    "use a longer period, fewer group_by keys or dimension filters"
                )
            out += _groups(batch, group_by, cells, columns, n_periods, first, step)
        spans = _resolutions(p, covered)
        estimated = {s: ALPHA for s in stats if s.startswith("p")} if totals.estimated else None
        return out, spans, estimated

    def _check(self, totals: readpath.BlockRead, fold) -> None:
        if totals.raw_points > MAX_POINTS_SCANNED or totals.records > MAX_ROLLUP_RECORDS:
            what = f"{totals.raw_points} points" + (f" and {totals.records} rollups" if totals.records else "")
            raise PayloadTooLargeError(
                f"the query would aggregate more than {what}; at most {MAX_POINTS_SCANNED} points and "
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
        check_name(name)
        series = self.store.series_of(name)
        if not series:
            raise NotFoundError(f"metric {name!r} has no series; GET /metrics lists the metrics that do")
        for f in filters:  # one pass per filter, with each distinct value judged once
            key, value = f.key, f.value
            if f.regex is None and not f.negate:
                series = [s for s in series if s.dimensions.get(key) == value]
                continue
            verdict: dict[str | None, bool] = {}
            kept = []
            for s in series:
                v = s.dimensions.get(key)
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

    stamps = [first + i * step for i in range(n_periods)] if n_periods <= 4 * len(cells) + 16 else None
    keys = ("timestamp", *columns)
    cols = [c.tolist() for c in columns.values()]
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


def single(params: Mapping) -> dict[str, str]:
    """One value per parameter: a parameter given twice is a 400, not silently the last."""
    out = {}
    for k, v in params.items():
        if isinstance(v, list | tuple):
            if len(v) != 1:
                raise InvalidInputError(f"{k}: given {len(v)} times; give each query parameter once")
            v = v[0]
        out[k] = v
    return out


def parse_stats(text: str) -> list[str]:
    stats = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stats if s not in STATS]
    if unknown or not stats:
        raise InvalidInputError(
            f"stat: unknown statistic {', '.join(map(repr, unknown)) or '(none)'}; "
            f"choose from {','.join(STATS)}"
        )
    return list(dict.fromkeys(stats))


def parse_group_by(text: str) -> list[str]:
    keys = list(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    if len(keys) > MAX_GROUP_KEYS:
        raise InvalidInputError(f"group_by: {len(keys)} keys; at most {MAX_GROUP_KEYS}")
    check_dimensions({k: "x" for k in keys})
    return keys


class Filter:
    """`dim.host=a` (equals), `dim.host!=a`, `dim.host=~web-.*`, `dim.host!~web-.*`.

    The query string splits at the first `=`, so `dim.host!=a` arrives as (`dim.host!`, `a`)
    and `dim.host=~re` as (`dim.host`, `~re`). Regexes match the whole value (as in
    PromQL); to match a value that starts with `~`, use a regex (`dim.k=~~x`). A missing
    dimension matches as the empty string (`dim.k=~` ... `.*` matches series without it).
    """

    __slots__ = ("key", "value", "negate", "regex")

    def __init__(self, key: str, value: str, negate: bool, regex: re.Pattern | None) -> None:
        self.key, self.value, self.negate, self.regex = key, value, negate, regex

    def matches(self, dims: dict[str, str]) -> bool:
        if self.regex is not None:
            hit = self.regex.fullmatch(dims.get(self.key, "")) is not None
        else:
            hit = dims.get(self.key) == self.value
        return hit != self.negate


def dimension_filters(params: Mapping[str, str], allowed: set[str]) -> list[Filter]:
    """`dim.<key>` parameters as filters; any other unknown parameter is an error, not ignored."""
    filters = []
    for k, v in params.items():
        if not k.startswith(DIM_PREFIX):
            if k not in allowed:
                known = ", ".join(sorted(allowed | {"dim.<key>"}))
                raise InvalidInputError(f"{k}: unknown query parameter; known: {known}")
            continue
        key = k[len(DIM_PREFIX):]
        negate = key.endswith("!")
        key = key.removesuffix("!")
        regex = None
        if v.startswith("~"):
            regex = _compile(k, v[1:])
        else:
            check_dimensions({key: v})
        check_dimensions({key: "x"})
        filters.append(Filter(key, v, negate, regex))
    return filters


def _compile(param: str, pattern: str) -> re.Pattern:
    if len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidInputError(f"{param}: the regex is {len(pattern)} characters; at most {MAX_REGEX_LENGTH}")
    if _NESTED_QUANTIFIER.search(pattern):
        raise InvalidInputError(f"{param}: nested quantifiers such as (a+)+ are refused (they can take "
                                "exponential time); rewrite the regex without them")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidInputError(f"{param}: not a valid regex: {exc}") from None
