"""OTLP/JSON metrics requests, the fast way (the schema is `weir.wire.otlp.schema`).

Speed: `schema.decoder` reads the whole schema, the reference. `decode` first tries `fast`, the same
schema except that a gauge or sum data point keeps its attributes as raw JSON: decoding a
data point's attributes made five objects per attribute and reading them back cost more than
the rest of the point, yet exporters resend the same attribute sets every interval. The raw
bytes key a cache in the resource/scope context (`Context.attrs`) of the dimension JSON
they map to, and are decoded (strictly, as `decoder` would) only when not cached. Whatever the
fast path cannot vouch for (a body it cannot decode, attributes that do not decode or are
nested deeper than Weir reads, a request near the point limit) is decoded again the reference
way, so errors and their messages are the reference's; `tests/wire/otlp/test_fast_json.py`
fuzzes one against the other.
"""

from __future__ import annotations

import msgspec

from weir.errors import PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.model import MetricType, WirePoint
from weir.wire.otlp import reference as otlp
from weir.wire.otlp.context import OVERFLOW, POINT, Context, Reference
from weir.wire.otlp.schema import (
    ExportMetricsServiceRequest,
    Gauge,
    KeyValue,
    Metric,
    NumberDataPoint,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from weir.wire.shared import ns_timestamp

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
