"""OTLP/JSON metrics requests as msgspec Structs (the subset of the proto Weir reads).

Field names follow the OTLP/JSON rules: lowerCamelCase keys, unknown keys ignored (so
exemplars, descriptions and metadata cost nothing), enums as integers. The decoder runs
with `strict=False`, which is what lets 64-bit integers arrive as strings (`"timeUnixNano":
"1700000000000000000"`) and doubles as `"NaN"`/`"Infinity"`, as the protobuf JSON mapping
allows. The attribute names match the generated protobuf classes, so one walker
(`weir.metrics.formats.otlp`) reads both encodings.

Speed: `decoder` reads the whole schema, the reference. `decode` first tries `fast`, the same
schema except that a gauge or sum data point keeps its attributes as raw JSON: decoding a
data point's attributes made five objects per attribute and reading them back cost more than
the rest of the point, yet exporters resend the same attribute sets every interval. The raw
bytes key a cache in the resource/scope context (`Context.attrs`) of the dimension JSON
they map to, and are decoded (strictly, as `decoder` would) only when not cached. Whatever the
fast path cannot vouch for (a body it cannot decode, attributes that do not decode or are
nested deeper than Weir reads, a request near the point limit) is decoded again the reference
way, so errors and their messages are the reference's; `tests/metrics/formats/test_otlp_json.py`
fuzzes one against the other.
"""

from __future__ import annotations

import msgspec

from weir.errors import PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.formats import ns_timestamp, otlp
from weir.metrics.formats.otlp_context import OVERFLOW, POINT, Context, Reference
from weir.metrics.model import MetricType, WirePoint


class _S(msgspec.Struct, rename="camel", omit_defaults=True):
    pass


class AnyValue(_S):
    string_value: str | None = None
    bool_value: bool | None = None
    int_value: int | None = None
    double_value: float | None = None
    array_value: ArrayValue | None = None
    kvlist_value: KeyValueList | None = None
    bytes_value: str | None = None


class ArrayValue(_S):
    values: list[AnyValue] = []


class KeyValue(_S):
    key: str = ""
    value: AnyValue | None = None


class KeyValueList(_S):
    values: list[KeyValue] = []


class Resource(_S):
    attributes: list[KeyValue] = []


class Scope(_S):
    name: str = ""
    version: str = ""
    attributes: list[KeyValue] = []


class NumberDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    as_double: float | None = None
    as_int: int | None = None
    flags: int = 0


class HistogramDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    count: int = 0
    sum: float | None = None
    bucket_counts: list[int] = []
    explicit_bounds: list[float] = []
    min: float | None = None
    max: float | None = None
    flags: int = 0


class Buckets(_S):
    offset: int = 0
    bucket_counts: list[int] = []


class ExponentialHistogramDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    count: int = 0
    sum: float | None = None
    scale: int = 0
    zero_count: int = 0
    positive: Buckets | None = None
    negative: Buckets | None = None
    min: float | None = None
    max: float | None = None
    flags: int = 0


class ValueAtQuantile(_S):
    quantile: float = 0.0
    value: float = 0.0


class SummaryDataPoint(_S):
    attributes: list[KeyValue] = []
    time_unix_nano: int = 0
    count: int = 0
    sum: float = 0.0
    quantile_values: list[ValueAtQuantile] = []
    flags: int = 0


class Gauge(_S):
    data_points: list[NumberDataPoint] = []


class Sum(_S):
    data_points: list[NumberDataPoint] = []
    aggregation_temporality: int | str = 0  # an integer per OTLP; names tolerated
    is_monotonic: bool = False


class Histogram(_S):
    data_points: list[HistogramDataPoint] = []
    aggregation_temporality: int | str = 0  # an integer per OTLP; names tolerated


class ExponentialHistogram(_S):
    data_points: list[ExponentialHistogramDataPoint] = []
    aggregation_temporality: int | str = 0  # an integer per OTLP; names tolerated


class Summary(_S):
    data_points: list[SummaryDataPoint] = []


class Metric(_S):
    name: str = ""
    unit: str = ""
    gauge: Gauge | None = None
    sum: Sum | None = None
    histogram: Histogram | None = None
    exponential_histogram: ExponentialHistogram | None = None
    summary: Summary | None = None


class ScopeMetrics(_S):
    scope: Scope | None = None
    metrics: list[Metric] = []


class ResourceMetrics(_S):
    resource: Resource | None = None
    scope_metrics: list[ScopeMetrics] = []


class ExportMetricsServiceRequest(_S):
    resource_metrics: list[ResourceMetrics] = []


decoder = msgspec.json.Decoder(ExportMetricsServiceRequest, strict=False)


# -- the fast schema: gauge and sum data point attributes left as raw JSON ------------------
# Each class narrows one field of its reference class, which msgspec reads from the annotation.
# mypy calls a narrower `list[...]` (lists are invariant) or `Raw` for `list` incompatible with
# the base class: hence the ignores, one per narrowed field.


class RawNumberDataPoint(NumberDataPoint):
    attributes: msgspec.Raw = msgspec.Raw(b"[]")  # type: ignore[assignment]  # the one change


class RawGauge(Gauge):
    data_points: list[RawNumberDataPoint] = []  # type: ignore[assignment]


class RawSum(Sum):
    data_points: list[RawNumberDataPoint] = []  # type: ignore[assignment]


class RawMetric(Metric):
    gauge: RawGauge | None = None
    sum: RawSum | None = None


class RawScopeMetrics(ScopeMetrics):
    metrics: list[RawMetric] = []  # type: ignore[assignment]


class RawResourceMetrics(ResourceMetrics):
    scope_metrics: list[RawScopeMetrics] = []  # type: ignore[assignment]


class RawExportMetricsServiceRequest(ExportMetricsServiceRequest):
    resource_metrics: list[RawResourceMetrics] = []  # type: ignore[assignment]


fast = msgspec.json.Decoder(RawExportMetricsServiceRequest, strict=False)
_attributes = msgspec.json.Decoder(list[KeyValue], strict=False)
_NS_FLOOR = 10**17


def decode(body: bytes | str) -> otlp.Decoded:
    try:
        req = fast.decode(body)
    except (msgspec.MsgspecError, RecursionError):
        return reference(body)  # raises the reference's own message
    try:
        return otlp.walk(req, otlp._Json, numbers)
    except Reference:
        return reference(body)
    except PayloadTooLargeError:
        otlp.parse_json(body)  # a malformed body is a 400 before it is a 413, as in the reference
        raise


def reference(body: bytes | str) -> otlp.Decoded:
    """The whole schema and the general path: what `decode` must agree with."""
    return otlp.walk(otlp.parse_json(body), otlp._Json)


def numbers(out: otlp.Decoded, d, data, name: str, unit, mtype: MetricType, c: Context, count) -> None:
    """Gauge and sum data points with raw attributes, one Weir point each."""
    dps = data.data_points
    if count.n + len(dps) > limits.MAX_POINTS_PER_REQUEST:
        raise Reference  # near the limit: let the reference count point by point
    first = len(out.data_points)
    out.data_points.extend([(name, k) for k in range(len(dps))])
    points, origin, cache = out.points, out.origin, c.attrs
    added = 0
    for k, dp in enumerate(dps):
        key = bytes(dp.attributes)
        e = cache.get(key)
        if e is None:
            e = _entry(c, key)  # before the flags: the reference checks a skipped point's attributes too
        if dp.flags & otlp._NO_RECORDED_VALUE:
            continue
        v = dp.as_double
        if v is None:
            v = dp.as_int
            if v is None:
                otlp._reject(out, first + k, "the data point has neither asDouble nor asInt")
                continue
        if e[0]:
            out.overflow(e[2], e[3])
        added += 1
        t = dp.time_unix_nano
        ts = (t if t >= _NS_FLOOR else ns_timestamp(t)) if t else None
        if type(v) is float and v - v == 0.0:
            points.append(WirePoint(name, v, ts, mtype, unit, e[1]))
            origin.append(first + k)
        else:
            otlp._emit(out, first + k, name, v, ts, mtype, unit, e[1])
    count.add(added)


def _entry(c: Context, key: bytes) -> tuple:
    """What raw attributes mean (a point and its dimension JSON); cached in their context."""
    try:
        attrs = otlp._attrs(otlp._Json, _attributes.decode(key))
    except (msgspec.MsgspecError, RecursionError, ValueError):
        # Not a list of KeyValue, or nested deeper than Weir reads (which the reference may
        # refuse as a whole when msgspec's own nesting limit is reached): the reference decides.
        raise Reference from None
    dims_key, raw, dropped = c.merged(attrs)
    e = (OVERFLOW, raw, dims_key, dropped) if dropped else (POINT, raw)
    c.attrs[key] = e
    Context.remember()
    return e
