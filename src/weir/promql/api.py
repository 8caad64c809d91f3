"""Prometheus' HTTP API, the answers: parameters in, Prometheus' envelope out. Pure (no HTTP).

`weir.http.routes.prometheus` hands each request's form (URL and form-encoded body merged,
the body's values first as Go's `FormValue` has them) to the functions here, which parse
and check every parameter the way Prometheus does, ask the engine or the series source,
and shape the answer. Every refusal is a `BadDataError` naming the parameter
(`invalid parameter "step": ...`), so a client sees the same `bad_data` Prometheus sends.

Times are milliseconds since the epoch throughout (PromQL's resolution), parsed from float
seconds (`1700000000.123`) or RFC 3339 (`2026-01-02T03:04:05.678Z`). Durations are float
seconds (`1.5`) or Prometheus durations (`5m`, `1h30m`). Bounds, all documented in the README:

- a range query has at most `MAX_POINTS_PER_SERIES` steps per series, as Prometheus;
- `timeout` defaults to `DEFAULT_TIMEOUT_MS` and is capped at `MAX_TIMEOUT_MS`;
- the engine refuses a query that would load more samples than its `max_samples` (422);
- query times must lie in `MIN_QUERY_MS`..`MAX_QUERY_MS` (Weir stores int64 nanoseconds;
  the margin leaves room for ranges and offsets); the metadata endpoints clamp instead,
  since clients send Prometheus' own far-past and far-future defaults there.

The engine, the selector parser and numpy are imported inside the functions that need them:
the `api` Lambda imports this module on its cold start, and most of its requests are not
PromQL.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

from weir import __version__
from weir.promql import bounds
from weir.promql.errors import BadDataError

if TYPE_CHECKING:
    from weir.promql.source import Matcher, SeriesSource

PROMETHEUS_VERSION = "2.42.0"  # the API and PromQL semantics followed (see buildinfo)
MAX_POINTS_PER_SERIES = 11_000
DEFAULT_TIMEOUT_MS = 30_000
MAX_TIMEOUT_MS = 120_000
# int64 nanoseconds span 1677-09-21..2262-04-11; half of that either side of 1970
# (1824..2116) leaves room for the longest ranges, offsets and lookbacks of a query.
MAX_QUERY_MS = 2**62 // 1_000_000
MIN_QUERY_MS = -MAX_QUERY_MS
# What the metadata endpoints clamp to (the whole storable range).
MAX_STORED_MS = (2**63 - 1) // 1_000_000 - 1
MIN_STORED_MS = -MAX_STORED_MS
MAX_LIMIT = 2**63 - 1
TRUNCATED = "results truncated due to limit"
FORM = "application/x-www-form-urlencoded"

def _lazy(pattern: str) -> Callable[[], re.Pattern[str]]:
    """A regex compiled on first use: this module loads on the `api` Lambda's cold start, and
    compiling its patterns there cost more than the rest of the module."""
    return cache(lambda: re.compile(pattern))


_RFC3339 = _lazy(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))\Z"
)
_FLOAT = _lazy(r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)\Z")
_DURATION = _lazy(
    r"(?:([0-9]+)y)?(?:([0-9]+)w)?(?:([0-9]+)d)?(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?(?:([0-9]+)ms)?\Z"
)
_DURATION_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1_000, 1)
_INT = _lazy(r"[+-]?[0-9]+\Z")
# Weir dimension keys (letters, digits, `_`, `.`, `-`) and Prometheus' classic label names.
_LABEL_NAME = _lazy(r"[A-Za-z_][A-Za-z0-9_.\-]*\Z")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Params:
    """A request's parameters: name → values, the body's before the URL's (as Go merges them)."""

    def __init__(self, values: Mapping[str, list[str]] | None = None) -> None:
        self._values: dict[str, list[str]] = {k: list(v) for k, v in (values or {}).items()}

    @classmethod
    def merge(cls, body: Mapping[str, list[str]] | None, url: Mapping[str, list[str]] | None) -> Params:
        merged: dict[str, list[str]] = {k: list(v) for k, v in (body or {}).items()}
        for k, v in (url or {}).items():
            merged.setdefault(k, []).extend(v)
        return cls(merged)

    def get(self, name: str) -> str:
        """The first value, or "" (Prometheus treats an empty value as an absent one)."""
        got = self._values.get(name)
        return got[0] if got else ""

    def all(self, name: str) -> list[str]:
        return list(self._values.get(name, ()))


def invalid(param: str, why: str) -> BadDataError:
    return BadDataError(f'invalid parameter "{param}": {why}')


# -- parameters ----------------------------------------------------------------------------


def parse_time(text: str, param: str, *, clamp: bool = False) -> int:
    """Float seconds (rounded to the millisecond, as Prometheus) or RFC 3339 (truncated)."""
    if _FLOAT().match(text):
        seconds = float(text)
        if not math.isfinite(seconds):
            raise invalid(param, f"cannot parse {text!r} to a valid timestamp")
        whole = math.trunc(seconds)
        ms = whole * 1000 + _round_half_away((seconds - whole) * 1000)
    else:
        m = _RFC3339().match(text)
        if m is None:
            raise invalid(param, f"cannot parse {_quote(text)} to a valid timestamp")
        ms = _rfc3339_ms(m, text, param)
    return _bounded(ms, text, param, clamp)


def _rfc3339_ms(m: re.Match[str], text: str, param: str) -> int:
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "").ljust(9, "0")
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise invalid(param, f"cannot parse {_quote(text)} to a valid timestamp: {exc}") from None
    if hour > 23 or int(m.group(10) or 0) > 23 or int(m.group(11) or 0) > 59:
        raise invalid(param, f"cannot parse {_quote(text)} to a valid timestamp: time zone offset out of range")
    offset = 0
    if m.group(9):
        offset = (int(m.group(10)) * 60 + int(m.group(11))) * 60_000
        offset = offset if m.group(9) == "+" else -offset
    delta = dt - _EPOCH
    return (delta // timedelta(milliseconds=1)) + int(frac[:3]) - offset


def _bounded(ms: int, text: str, param: str, clamp: bool) -> int:
    if clamp:
        return min(max(ms, MIN_STORED_MS), MAX_STORED_MS)
    if not MIN_QUERY_MS <= ms <= MAX_QUERY_MS:
        raise invalid(param, f"{_quote(text)} is outside the times a query may ask for (years 1900 to 2100 are safe)")
    return ms


def _round_half_away(x: float) -> int:
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def parse_duration(text: str, param: str) -> int:
    """Float seconds or a Prometheus duration (`1h30m`, units y w d h m s ms in that order), in ms."""
    if _FLOAT().match(text):
        seconds = float(text)
        if not math.isfinite(seconds) or abs(seconds) > 2**63 / 1e9:
            raise invalid(param, f"cannot parse {_quote(text)} to a valid duration. It overflows int64")
        return _round_half_away(seconds * 1000)
    m = _DURATION().match(text)
    if not text or m is None or not any(m.groups()):
        raise invalid(param, f"cannot parse {_quote(text)} to a valid duration")
    ms = sum(int(g) * unit for g, unit in zip(m.groups(), _DURATION_MS) if g)
    if ms > 2**63 // 1_000_000:
        raise invalid(param, f"cannot parse {_quote(text)} to a valid duration. It overflows int64")
    return ms


def parse_limit(params: Params, name: str = "limit") -> int:
    """0 (no limit) when absent; a non-negative integer otherwise."""
    text = params.get(name)
    if not text:
        return 0
    if not _INT().match(text) or abs(int(text)) > MAX_LIMIT:
        raise invalid(name, f"cannot parse {_quote(text)} as an integer")
    value = int(text)
    if value < 0:
        raise invalid(name, f"{name} must be non-negative")
    return value


def timeout_ms(params: Params) -> int:
    """The query's time budget: `timeout` (a duration), else the default; capped at the maximum."""
    text = params.get("timeout")
    if not text:
        return DEFAULT_TIMEOUT_MS
    ms = parse_duration(text, "timeout")
    if ms <= 0:
        raise invalid("timeout", f"{_quote(text)} is not a positive duration")
    return min(ms, MAX_TIMEOUT_MS)


def time_param(params: Params, name: str, default: int, *, clamp: bool = False) -> int:
    text = params.get(name)
    return default if not text else parse_time(text, name, clamp=clamp)


class RangeParams(NamedTuple):
    start: int
    end: int
    step: int


def range_params(params: Params) -> RangeParams:
    """`start`, `end` and `step` of a range query, checked in Prometheus' order."""
    start = parse_time(params.get("start"), "start")
    end = parse_time(params.get("end"), "end")
    if end < start:
        raise invalid("end", "end timestamp must not be before start time")
    step = parse_duration(params.get("step"), "step")
    if step <= 0:
        raise invalid("step", "zero or negative query resolution step widths are not accepted. Try a positive integer")
    if (end - start) // step > MAX_POINTS_PER_SERIES:
        raise BadDataError(
            f"exceeded maximum resolution of {MAX_POINTS_PER_SERIES:,} points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
    return RangeParams(start, end, step)


def span_params(params: Params) -> tuple[int, int]:
    """`start` and `end` of the metadata endpoints: optional, clamped to what Weir can store."""
    start = time_param(params, "start", MIN_STORED_MS, clamp=True)
    end = time_param(params, "end", MAX_STORED_MS, clamp=True)
    if end < start:
        raise invalid("end", "end timestamp must not be before start time")
    return start, end


def match_sets(params: Params, *, required: bool) -> list[list[Matcher]]:
    """Each `match[]` selector as matchers; each must have a matcher that refuses the empty value."""
    texts = params.all("match[]")
    if required and not texts:
        raise BadDataError("no match[] parameter provided")
    if not texts:
        return []
    from weir.promql.parse import parse_selector

    sets = []
    for text in texts:
        check_structure(text, "match[]")
        try:
            matchers = parse_selector(text)
        except BadDataError as exc:
            raise invalid("match[]", exc.message) from None
        if all(m.matches("") for m in matchers):
            raise invalid("match[]", "match[] must contain at least one non-empty matcher")
        sets.append(matchers)
    return sets


def label_name(name: str) -> str:
    """A label name from a URL path: Prometheus' names and Weir's (with `.`, `-`), or `U__` escaped."""
    if name.startswith("U__"):
        name = _unescape(name[3:], name)
    if name != "__name__" and not _LABEL_NAME().match(name):
        raise BadDataError(f"invalid label name: {_quote(name)}")
    return name


def _unescape(body: str, original: str) -> str:
    """Prometheus 3's value-encoding escape: `_` is `__`, other characters `_<hex>_`."""
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "_":
            out.append(c)
            i += 1
            continue
        if body.startswith("__", i):
            out.append("_")
            i += 2
            continue
        j = body.find("_", i + 1)
        try:
            out.append(chr(int(body[i + 1 : j], 16)))
        except ValueError:
            raise BadDataError(f"invalid label name: {_quote(original)}") from None
        i = j + 1
    return "".join(out)


def _quote(text: str) -> str:
    """Go's %q, near enough: a double-quoted, escaped, shortened rendering of client input."""
    shown = text if len(text) <= 200 else text[:200] + "..."
    return '"' + shown.encode("unicode_escape").decode("ascii").replace('"', '\\"') + '"'


# -- answers -----------------------------------------------------------------------------


def success(data: Any, warnings: Iterable[str] = ()) -> dict:
    body: dict = {"status": "success", "data": data}
    warnings = list(warnings)
    if warnings:
        body["warnings"] = warnings
    return body


def failure(error_type: str, message: str) -> dict:
    return {"status": "error", "errorType": error_type, "error": message}


def truncate(result_type: str, result: Any, limit: int, warnings: list[str]) -> Any:
    """A vector or matrix cut to `limit` series, with Prometheus' warning; others unchanged."""
    if limit and result_type in ("vector", "matrix") and len(result) > limit:
        warnings.append(TRUNCATED)
        return result[:limit]
    return result


def query(engine, params: Params, now_ms: int, deadline: float) -> dict:
    """`/api/v1/query`: the instant query at `time` (default: now)."""
    limit = parse_limit(params)
    at = time_param(params, "time", now_ms)
    check_structure(params.get("query"))
    with _query_param():
        res = engine.instant(params.get("query"), at, deadline=deadline)
    warnings = list(res.warnings)
    result = truncate(res.result_type, res.result, limit, warnings)
    return success({"resultType": res.result_type, "result": result}, warnings)


def query_range(engine, params: Params, deadline: float) -> dict:
    """`/api/v1/query_range`: the expression at each step from `start` to `end`."""
    limit = parse_limit(params)
    r = range_params(params)
    check_structure(params.get("query"))
    with _query_param():
        res = engine.range(params.get("query"), r.start, r.end, r.step, deadline=deadline)
    warnings = list(res.warnings)
    result = truncate(res.result_type, res.result, limit, warnings)
    return success({"resultType": res.result_type, "result": result}, warnings)


def check_structure(text: str, param: str = "query") -> None:
    """`weir.promql.bounds.check_structure` (at most MAX_STRUCTURE operators and parentheses)
    before any parser sees the expression, its refusal naming the parameter. The parser
    checks it again itself; here it costs no import of the binding."""
    try:
        bounds.check_structure(text)
    except BadDataError as exc:
        raise invalid(param, exc.message) from None


@contextmanager
def _query_param() -> Iterator[None]:
    """The engine's `bad_data` (a parse error, `1:14: ...`) as Prometheus words it: a bad `query`."""
    try:
        yield
    except BadDataError as exc:
        raise invalid("query", exc.message) from None


def series(source: SeriesSource, params: Params) -> dict:
    """`/api/v1/series`: the label sets of the series any `match[]` selects."""
    sets = match_sets(params, required=True)
    limit = parse_limit(params)
    start, end = span_params(params)
    seen: dict[tuple, dict[str, str]] = {}
    for matchers in sets:
        for info in source.series(matchers, start, end):
            seen.setdefault(tuple(sorted(info.labels.items())), info.labels)
    found = [_ordered(labels) for _, labels in sorted(seen.items())]
    warnings: list[str] = []
    return success(_cut(found, limit, warnings), warnings)


def labels(source: SeriesSource, params: Params) -> dict:
    """`/api/v1/labels`: label names of the series selected (every series without `match[]`)."""
    limit = parse_limit(params)
    start, end = span_params(params)
    names: set[str] = set()
    for info in _selected(source, params, start, end):
        names.update(k for k, v in info.labels.items() if v)
    warnings: list[str] = []
    return success(_cut(sorted(names), limit, warnings), warnings)


def label_values(source: SeriesSource, name: str, params: Params, metric_names: Callable[[], Iterable[str]]) -> dict:
    """`/api/v1/label/<name>/values`: the values the label takes in the series selected."""
    name = label_name(name)
    limit = parse_limit(params)
    start, end = span_params(params)
    values: set[str] = set()
    if name == "__name__" and not params.all("match[]"):
        values.update(metric_names())  # the store keeps the names apart: no series listing
    else:
        for info in _selected(source, params, start, end):
            value = info.labels.get(name)
            if value:
                values.add(value)
    warnings: list[str] = []
    return success(_cut(sorted(values), limit, warnings), warnings)


_PROM_TYPES = frozenset({"counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset"})


def metadata(source: SeriesSource, params: Params) -> dict:
    """`/api/v1/metadata`: `{name: [{type, help, unit}]}` from each metric's type and unit
    (Weir keeps no help text: it is always ""). `metric` picks one metric."""
    limit = _plain_int(params, "limit", -1)
    per_metric = _plain_int(params, "limit_per_metric", -1)
    wanted = params.get("metric")
    found: dict[str, list[dict[str, str]]] = {}
    for info in source.series([_name_matcher("=", wanted) if wanted else _everything()], MIN_STORED_MS, MAX_STORED_MS):
        name = info.labels["__name__"]
        entry = {"type": info.type if info.type in _PROM_TYPES else "unknown", "help": "", "unit": info.unit or ""}
        have = found.setdefault(name, [])
        if entry not in have and not (per_metric > 0 and len(have) >= per_metric):
            have.append(entry)
    names = sorted(found)
    if limit >= 0:
        names = names[:limit]
    return success({n: found[n] for n in names})


def _plain_int(params: Params, name: str, default: int) -> int:
    text = params.get(name)
    if not text:
        return default
    if not _INT().match(text) or abs(int(text)) > MAX_LIMIT:
        raise BadDataError(f"{name} must be a number")
    return int(text)


def buildinfo() -> dict:
    """Prometheus' build information fields. `version` is the Prometheus version whose API and
    PromQL Weir follows (clients such as Grafana turn features on and off by it, as they do for
    VictoriaMetrics, which answers likewise); Weir's own version is in `revision`. No `features`
    map: Grafana takes a non-empty one for Mimir and would then call a ruler API Weir lacks."""
    return success({
        "version": PROMETHEUS_VERSION, "revision": f"weir {__version__}", "branch": "weir", "buildUser": "",
        "buildDate": "", "goVersion": "",
    })


def format_query(params: Params) -> dict:
    """`/api/v1/format_query`: the expression pretty-printed by promql-parser's printer, once
    the engine's parser has accepted it (its errors name the position, as Prometheus')."""
    import promql_parser

    from weir.promql.parse import parse

    text = params.get("query")
    check_structure(text)
    with _query_param():
        parse(text)
    return success(promql_parser.parse(text).prettify())


def query_exemplars(params: Params) -> dict:
    """`/api/v1/query_exemplars`: an empty list once the query and times are valid. Weir
    keeps no exemplars (remote write's and OTLP's are not stored), and an empty list is what
    Prometheus answers where it has none; Grafana asks when a panel shows exemplars."""
    from weir.promql.parse import parse

    span_params(params)
    text = params.get("query")
    check_structure(text)
    with _query_param():
        parse(text)
    return success([])


def _selected(source: SeriesSource, params: Params, start: int, end: int) -> Iterable:
    for matchers in match_sets(params, required=False) or [[_everything()]]:
        yield from source.series(matchers, start, end)


def _everything() -> Matcher:
    return _name_matcher("=~", ".+")


def _name_matcher(op: str, value: str) -> Matcher:
    from weir.promql.source import Matcher

    return Matcher("__name__", op, value)


def _ordered(labels: dict[str, str]) -> dict[str, str]:
    """`__name__` first, then the labels by name (the order Prometheus answers in)."""
    out = {"__name__": labels["__name__"]} if "__name__" in labels else {}
    out.update(sorted((k, v) for k, v in labels.items() if k != "__name__"))
    return out


def _cut(items: list, limit: int, warnings: list[str]) -> list:
    if limit and len(items) > limit:
        warnings.append(TRUNCATED)
        return items[:limit]
    return items
