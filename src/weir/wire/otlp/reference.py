"""OpenTelemetry OTLP metrics (protobuf or JSON) → Weir points: the reference walk.

Names (README "OpenTelemetry"): a gauge or sum data point is one point named after the
metric; a sum is a `counter` when monotonic, a `gauge` otherwise, and its value is stored as
sent (a running total for cumulative temporality, the increase over the interval for delta:
converting one into the other needs per-series state across requests, which a Lambda does not
keep). A histogram data point becomes `<name>.count`, `<name>.sum`, `<name>.min`, `<name>.max`
(each when present) and `<name>.bucket` with an `le` dimension holding the cumulative count,
as Prometheus does. A summary becomes `<name>.count`, `<name>.sum` and `<name>` with a
`quantile` dimension. Exponential histograms keep count, sum, min and max; their buckets are
not stored, and the answer says so. Points flagged "no recorded value" are skipped.

Dimensions, bounded to 30 in all: every data point attribute (its identity; too many or an
invalid one rejects the point, as in `POST /metrics`), plus `le`/`quantile`, then the
context, in this order, while room remains:
1. the resource attributes `service.name`, `service.namespace`, `service.instance.id`,
   `service.version`, `deployment.environment.name`, `deployment.environment`, `host.name`;
2. `otel.scope.name` and `otel.scope.version` of the instrumentation scope;
3. the other resource attributes, by key, except `telemetry.*` and `process.*` (SDK
   bookkeeping and per-process noise);
4. the scope's attributes as `otel.scope.<key>`, by key.
A data point attribute wins over a context one of the same key. Context attributes that are
not valid dimensions or that do not fit are dropped and reported as a warning. Non-string
values are written as text (`true`, `42`, `0.5`, JSON for arrays and maps); empty values are
dropped (Prometheus' rule: an empty label is no label).

The protobuf classes (`opentelemetry-proto`, which pulls in protobuf) are imported on the
first protobuf request only, so the JSON path and cold starts do not pay for them.

Speed: gauge and sum data points, the bulk of most exports, are read by the fast loops of
`fast_pb` (protobuf) and `fast_json` (JSON), which cache what a data point's attribute bytes
mean per resource/scope `Context`. The walk here, with `number_points`, is their reference:
anything they cannot vouch for is decoded again through it, and tests fuzz one against the other.
A leaf of `weir.wire.otlp`: it imports neither fast path (they import it); `decode` is the
entry point that picks one, and writes the answers.
"""

from __future__ import annotations

import base64
import math

import msgspec

from weir.errors import InvalidInputError
from weir.metrics import limits
from weir.metrics.model import MetricType, Rejected, WirePoint
from weir.wire.otlp.context import Context, context_of
from weir.wire.shared import PointCounter, ns_timestamp

KINDS = ("gauge", "sum", "histogram", "exponential_histogram", "summary")
PROMOTED = (
    "service.name", "service.namespace", "service.instance.id", "service.version",
    "deployment.environment.name", "deployment.environment", "host.name",
)
EXCLUDED_PREFIXES = ("telemetry.", "process.")
_NO_RECORDED_VALUE = 1
_MAX_DEPTH = 8
_INF = math.inf
_NS_FLOOR = 10**17


class Decoded:
    """Points (None where rejected) with the OTLP data point each came from."""

    def __init__(self) -> None:
        self.points: list[WirePoint | None] = []
        self.rejected: list[Rejected] = []
        self.origin: list[int] = []  # Weir point → OTLP data point ordinal
        self.data_points: list[tuple[str, int]] = []  # ordinal → (metric name, index in metric)
        self.warnings: dict[str, int] = {}
        self.scope_no = 0  # which resource/scope context the walk is in
        self.overflowed: set[tuple] = set()  # (scope, dimensions) whose dropped context was reported

    def where(self, index: int) -> str:
        if index >= len(self.origin):
            return ""
        name, k = self.data_points[self.origin[index]]
        return f"metric {name[:80]!r} data point {k}"

    def warn(self, text: str, n: int = 1) -> None:
        self.warnings[text] = self.warnings.get(text, 0) + n

    def overflow(self, dims_key: tuple, n: int) -> None:
        """Context attributes beyond the bound were dropped: counted once per series and scope."""
        key = (self.scope_no, dims_key)
        if key not in self.overflowed:
            self.overflowed.add(key)
            self.warn(f"resource or scope attributes beyond {limits.MAX_DIMENSIONS} dimensions were dropped "
                      "(count per series)", n)


# -- reading the two encodings ---------------------------------------------------------


class _Json:
    @staticmethod
    def string(v):
        return v.string_value if v is not None else None

    @staticmethod
    def kind(m):
        for k in KINDS:
            if getattr(m, k) is not None:
                return k
        return None

    @staticmethod
    def number(dp):
        return dp.as_double if dp.as_double is not None else dp.as_int

    @staticmethod
    def opt(dp, name: str):
        return getattr(dp, name)

    @staticmethod
    def resource_attrs(rm):
        return rm.resource.attributes if rm.resource is not None else []

    @staticmethod
    def scope(sm):
        return sm.scope

    @staticmethod
    def value(v, depth: int = 0):
        if v is None:
            return None
        if v.string_value is not None:
            return v.string_value
        if v.bool_value is not None:
            return v.bool_value
        if v.int_value is not None:
            return v.int_value
        if v.double_value is not None:
            return v.double_value
        if v.bytes_value is not None:
            return v.bytes_value  # already base64 in JSON
        if depth >= _MAX_DEPTH:
            raise ValueError("nested more than 8 levels deep")
        if v.array_value is not None:
            return [_Json.value(x, depth + 1) for x in v.array_value.values]
        if v.kvlist_value is not None:
            return {kv.key: _Json.value(kv.value, depth + 1) for kv in v.kvlist_value.values}
        return None


class _Proto:
    @staticmethod
    def string(v):
        # A non-empty string_value can only mean the string case of the oneof; anything else
        # (another type, or an empty string) takes the general path. Saves a WhichOneof.
        return v.string_value or None

    @staticmethod
    def kind(m):
        return m.WhichOneof("data")

    @staticmethod
    def number(dp):
        which = dp.WhichOneof("value")
        return None if which is None else getattr(dp, which)

    @staticmethod
    def opt(dp, name: str):
        return getattr(dp, name) if dp.HasField(name) else None

    @staticmethod
    def resource_attrs(rm):
        return rm.resource.attributes

    @staticmethod
    def scope(sm):
        return sm.scope

    @staticmethod
    def value(v, depth: int = 0):
        which = v.WhichOneof("value")
        if which is None:
            return None
        if which == "bytes_value":
            return base64.b64encode(v.bytes_value).decode()
        if which in ("array_value", "kvlist_value"):
            if depth >= _MAX_DEPTH:
                raise ValueError("nested more than 8 levels deep")
            if which == "array_value":
                return [_Proto.value(x, depth + 1) for x in v.array_value.values]
            return {kv.key: _Proto.value(kv.value, depth + 1) for kv in v.kvlist_value.values}
        return getattr(v, which)


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return _fmt(value)
    if isinstance(value, int):
        return str(value)
    return msgspec.json.encode(value).decode()


def _fmt(x: float) -> str:
    """Shortest text of a float, Prometheus style: `0.5`, `10`, `+Inf`."""
    if x == _INF:
        return "+Inf"
    if x == -_INF:
        return "-Inf"
    r = repr(x)
    return r[:-2] if r.endswith(".0") else r


def _attrs(d, kvs) -> dict[str, str]:
    out: dict[str, str] = {}
    for kv in kvs:
        text = d.string(kv.value)  # the common case: a string attribute
        if text is None:
            text = _text(d.value(kv.value))
        if text:
            out[kv.key] = text
    return out


def _valid(k: str, v: str) -> bool:
    return (
        len(k) <= limits.MAX_DIM_KEY_LENGTH and limits.DIM_KEY_RE.match(k) is not None
        and len(v) <= limits.MAX_DIM_VALUE_LENGTH and limits.DIM_VALUE_RE.match(v) is not None
    )


def context(d, rm, sm, out: Decoded) -> list[tuple[str, str]]:
    """Resource and scope attributes as candidate dimensions, in the documented order."""
    try:
        res = _attrs(d, d.resource_attrs(rm))
    except ValueError:
        res = {}
        out.warn("a resource attribute nested too deeply was dropped")
    scope = d.scope(sm)
    first = [(k, res[k]) for k in PROMOTED if k in res]
    named = []
    scope_attrs: dict[str, str] = {}
    if scope is not None:
        named = [(k, v) for k, v in (("otel.scope.name", scope.name), ("otel.scope.version", scope.version)) if v]
        try:
            scope_attrs = {f"otel.scope.{k}": v for k, v in _attrs(d, scope.attributes).items()}
        except ValueError:
            out.warn("a scope attribute nested too deeply was dropped")
    rest = sorted((k, v) for k, v in res.items() if k not in PROMOTED and not k.startswith(EXCLUDED_PREFIXES))
    items = first + named + rest + sorted(scope_attrs.items())
    valid = [(k, v) for k, v in items if _valid(k, v)]
    if len(valid) < len(items):
        out.warn("resource or scope attributes that are not valid dimensions were dropped", len(items) - len(valid))
    return valid


# -- the walk ------------------------------------------------------------------------------


def walk(req, d, numbers=None) -> Decoded:
    """Map a decoded request (`d` reads its encoding); `numbers` is the gauge/sum loop."""
    numbers = numbers or number_points
    out = Decoded()
    count = PointCounter("after expanding histograms and summaries")
    for rm in req.resource_metrics:
        for sm in rm.scope_metrics:
            c = context_of(context(d, rm, sm, out))
            out.scope_no += 1
            for m in sm.metrics:
                kind = d.kind(m)
                if kind is None:
                    continue
                data = getattr(m, kind)
                name, unit = m.name, (m.unit or None)
                if kind == "gauge" or kind == "sum":
                    mtype: MetricType = "counter" if kind == "sum" and data.is_monotonic else "gauge"
                    numbers(out, d, data, name, unit, mtype, c, count)
                    continue
                for k, dp in enumerate(data.data_points):
                    ordinal = len(out.data_points)
                    out.data_points.append((name, k))
                    if dp.flags & _NO_RECORDED_VALUE:
                        continue
                    _emit_data_point(out, d, kind, dp, name, unit, c, ordinal, count)
    return out


def number_points(out: Decoded, d, data, name: str, unit, mtype: MetricType, c: Context, count) -> None:
    """Gauge and sum points, one Weir point each (the protobuf decoder has its own loop)."""
    first = len(out.data_points)
    dps = data.data_points
    out.data_points.extend([(name, k) for k in range(len(dps))])
    for k, dp in enumerate(dps):
        number_point(out, d, dp, first + k, name, unit, mtype, c, count)


def number_point(out: Decoded, d, dp, ordinal: int, name: str, unit, mtype: MetricType, c: Context, count) -> None:
    if dp.flags & _NO_RECORDED_VALUE:
        return
    try:
        attrs = _attrs(d, dp.attributes)
    except ValueError as exc:
        return _reject(out, ordinal, f"attributes: {exc}")
    value = d.number(dp)
    if value is None:
        return _reject(out, ordinal, "the data point has neither asDouble nor asInt")
    count.add()
    raw = c.raw(out, attrs)
    t = dp.time_unix_nano
    _emit(out, ordinal, name, value, (t if t >= _NS_FLOOR else ns_timestamp(t)) if t else None, mtype, unit, raw)


def _emit_data_point(out: Decoded, d, kind, dp, name, unit, c: Context, ordinal, count) -> None:
    """A histogram, exponential histogram or summary data point: several Weir points."""
    try:
        attrs = _attrs(d, dp.attributes)
    except ValueError as exc:
        return _reject(out, ordinal, f"attributes: {exc}")
    t = dp.time_unix_nano
    ts = ns_timestamp(t) if t else None
    points: list[tuple[str, float | None, MetricType, str | None, dict]] = []
    if kind == "histogram":
        counts, bounds = list(dp.bucket_counts), list(dp.explicit_bounds)
        if counts and len(counts) != len(bounds) + 1:
            return _reject(out, ordinal, f"bucketCounts has {len(counts)} entries; explicitBounds has "
                                         f"{len(bounds)}, so it needs {len(bounds) + 1}")
        if any(not math.isfinite(b) for b in bounds) or any(a >= b for a, b in zip(bounds, bounds[1:])):
            return _reject(out, ordinal, "explicitBounds must be finite and strictly increasing")
        _summary_points(points, d, dp, name, unit, attrs, has_min_max=True)
        cum = 0
        for bound, n in zip(bounds + [_INF], counts):
            cum += n
            points.append((f"{name}.bucket", cum, "counter", None, {**attrs, "le": _fmt(bound)}))
    elif kind == "exponential_histogram":
        _summary_points(points, d, dp, name, unit, attrs, has_min_max=True)
        out.warn("exponential histogram buckets are not stored (count, sum, min and max are)")
    else:  # summary
        points.append((f"{name}.count", dp.count, "counter", None, attrs))
        points.append((f"{name}.sum", dp.sum, "counter", unit, attrs))
        for q in dp.quantile_values:
            points.append((name, q.value, "gauge", unit, {**attrs, "quantile": _fmt(q.quantile)}))
    count.add(len(points))
    for pname, value, mtype, punit, dims in points:
        _emit(out, ordinal, pname, value, ts, mtype, punit, c.raw(out, dims))


def _summary_points(points, d, dp, name, unit, attrs, *, has_min_max: bool) -> None:
    points.append((f"{name}.count", dp.count, "counter", None, attrs))
    s = d.opt(dp, "sum")
    if s is not None:
        points.append((f"{name}.sum", s, "counter", unit, attrs))
    if has_min_max:
        for stat in ("min", "max"):
            v = d.opt(dp, stat)
            if v is not None:
                points.append((f"{name}.{stat}", v, "gauge", unit, attrs))


def _emit(out: Decoded, ordinal: int, name: str, value, ts, mtype: MetricType, unit, raw) -> None:
    try:
        v = float(value)
    except OverflowError:
        v = _INF
    if v - v != 0.0:
        out.rejected.append(Rejected(len(out.points), f"value {value} is not stored; Weir stores finite numbers only"))
        out.points.append(None)
    else:
        out.points.append(WirePoint(name, v, ts, mtype, unit, raw))
    out.origin.append(ordinal)


def _reject(out: Decoded, ordinal: int, error: str) -> None:
    out.rejected.append(Rejected(len(out.points), error))
    out.points.append(None)
    out.origin.append(ordinal)


# -- the reference parses ----------------------------------------------------------


def parse_json(body: bytes | str):
    """The request as the reference JSON schema reads it; InvalidInputError if it cannot."""
    from weir.wire.otlp import schema  # on the first JSON request only: cold starts skip the schema

    try:
        return schema.decoder.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise InvalidInputError(f"the body is not an OTLP/JSON metrics request: {exc}") from None
    except RecursionError:
        raise InvalidInputError("the body is not an OTLP/JSON metrics request: nested too deeply") from None


def parse_pb(data: bytes):
    """The request as the official classes read it; InvalidInputError if they cannot."""
    try:
        return _pb().ExportMetricsServiceRequest.FromString(data)
    except Exception as exc:  # protobuf raises DecodeError, or RecursionError on deep nesting
        raise InvalidInputError(f"the body is not an OTLP protobuf metrics request: {exc}") from None


def _pb():
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    return metrics_service_pb2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)
