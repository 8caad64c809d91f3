"""OTLP protobuf requests: parsed by upb, with gauge and sum data points read from their bytes.

Why: upb parses a 1,000-point request in C in a fraction of a millisecond, but reading the
parsed message back from Python costs far more: every field access builds Python objects, and
a gauge data point with two attributes took about 10 µs to read (data point, attributes,
KeyValue, AnyValue, str), on every request. Yet exporters resend the same series every interval:
a data point's bytes after its time and value (its attributes and flags) are, nearly always, the
same bytes as in the previous request.

How, for gauge and sum data points (histograms and summaries keep the general path: there are
few of them, and each makes many Weir points):
1. upb parses the request against a view of the OTLP schema in which `Gauge.data_points` and
   `Sum.data_points` are `repeated bytes`. An embedded message and bytes share one wire form (a
   length-delimited record), so upb still checks everything else and hands each data point
   over as bytes.
2. The data point's leading fixed64 fields (start time, time, asDouble, asInt: numbers 2, 3, 4
   and 6, which encoders write first since they write in field order) are read with `struct`.
3. The bytes that follow, "the rest", key a cache in the resource/scope context (`Context`)
   of what they mean: skip (no recorded value), reject (bad attribute), or the dimension JSON.
   A rest not yet cached is parsed by the official classes at the depth a data point has in a
   request, so upb's checks (UTF-8, truncation, nesting limit) apply exactly as they would to the
   whole request, and mapped by the general path's own functions.
Protobuf lets a field repeat (the last one wins): a rest that sets time or value again (no real
encoder does that) sends its data point down the general path. A rest the official classes
refuse, or a request near the point limit, is decoded again the reference way (official classes,
general path), so errors read exactly as they did; `tests/wire/otlp/test_fast_pb.py` fuzzes
this module against that reference.
"""

from __future__ import annotations

import struct

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.resource.v1 import resource_pb2

from weir.errors import PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.model import MetricType, WirePoint
from weir.wire.otlp import reference as otlp
from weir.wire.otlp.context import GENERAL, OVERFLOW, POINT, REJECT, SKIP, Context, Reference
from weir.wire.shared import ns_timestamp

_U64 = struct.Struct("<Q").unpack_from
_F64 = struct.Struct("<d").unpack_from
_I64 = struct.Struct("<q").unpack_from
_TIME_DOUBLE = struct.Struct("<xQxd").unpack_from
_PEELED = frozenset({3, 4, 6})  # time, asDouble, asInt: read from the leading bytes
_NS_FLOOR = 10**17
# Tags wrapping a data point as the only one of a request: Gauge.data_points, Metric.gauge,
# ScopeMetrics.metrics, ResourceMetrics.scope_metrics, ExportMetricsServiceRequest.resource_metrics.
_ENVELOPE = (b"\x0a", b"\x2a", b"\x12", b"\x12", b"\x0a")


def _view():
    """ExportMetricsServiceRequest, with gauge and sum data points left as bytes."""
    pool = descriptor_pool.DescriptorPool()
    for module in (common_pb2, resource_pb2, metrics_pb2, metrics_service_pb2):
        proto = descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb)
        for message in proto.message_type:
            if module is metrics_pb2 and message.name in ("Gauge", "Sum"):
                [field] = [f for f in message.field if f.name == "data_points"]
                field.type = descriptor_pb2.FieldDescriptorProto.TYPE_BYTES
                field.ClearField("type_name")
        pool.Add(proto)
    full_name = metrics_service_pb2.ExportMetricsServiceRequest.DESCRIPTOR.full_name
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(full_name))


_Request = _view()


def decode(data: bytes) -> otlp.Decoded:
    try:
        req = _Request.FromString(data)
    except Exception:  # DecodeError, RecursionError: the reference parse raises its own message
        return reference(data)
    try:
        return otlp.walk(req, otlp._Proto, numbers)
    except Reference:
        return reference(data)
    except PayloadTooLargeError:
        otlp.parse_pb(data)  # a malformed body is a 400 before it is a 413, as in the reference
        raise


def reference(data: bytes) -> otlp.Decoded:
    """The official classes and the general path: what this module must agree with."""
    return otlp.walk(otlp.parse_pb(data), otlp._Proto)


def numbers(out: otlp.Decoded, d, data, name: str, unit, mtype: MetricType, c: Context, count) -> None:
    """Gauge and sum data points (bytes), one Weir point each: the bulk of most exports."""
    dps = data.data_points
    if count.n + len(dps) > limits.MAX_POINTS_PER_REQUEST:
        raise Reference  # near the limit: let the reference count point by point
    first = len(out.data_points)
    out.data_points.extend([(name, k) for k in range(len(dps))])
    points, origin, rests = out.points, out.origin, c.rests
    added = 0
    last_t, ts = None, None
    for k, b in enumerate(dps):
        head = b[:19:9]  # the tags at 0, 9 and 18 of the usual layouts
        if head == b"\x11\x19\x21" and len(b) >= 27:  # start, time, asDouble: what the SDKs send
            t, v = _TIME_DOUBLE(b, 9)
            rest = b[27:]
        elif head[:2] == b"\x19\x21" and len(b) >= 18:  # time, asDouble
            t, v = _TIME_DOUBLE(b, 0)
            rest = b[18:]
        else:
            t, v, rest = _peel(b)
        e = rests.get(rest)
        if e is None:
            e = _entry(c, rest)
        kind = e[0]
        if kind:
            if kind == SKIP:
                continue
            if kind == REJECT:
                otlp._reject(out, first + k, e[1])
                continue
            if kind == GENERAL:
                otlp.number_point(out, d, _in_request(b), first + k, name, unit, mtype, c, count)
                continue
        if v is None:
            otlp._reject(out, first + k, "the data point has neither asDouble nor asInt")
            continue
        if kind:
            out.overflow(e[2], e[3])
        added += 1
        if t != last_t:
            last_t = t
            ts = (t if t >= _NS_FLOOR else ns_timestamp(t)) if t else None
        if type(v) is float and v - v == 0.0:
            points.append(WirePoint(name, v, ts, mtype, unit, e[1]))
            origin.append(first + k)
        else:
            otlp._emit(out, first + k, name, v, ts, mtype, unit, e[1])
    count.add(added)


def _peel(b: bytes) -> tuple[int, float | int | None, bytes]:
    """Time, value and rest of a data point whose fixed64 fields come first, in any order."""
    i, t, v, size = 0, 0, None, len(b)
    while i + 9 <= size:
        tag = b[i]
        if tag == 0x19:
            t = _U64(b, i + 1)[0]
        elif tag == 0x21:
            v = _F64(b, i + 1)[0]
        elif tag == 0x31:
            v = _I64(b, i + 1)[0]
        elif tag != 0x11:
            break
        i += 9
    return t, v, b[i:]


def _entry(c: Context, rest: bytes) -> tuple:
    """What a data point's rest means, from the official classes; cached in its context."""
    dp = _in_request(rest)
    fields = _field_numbers(rest)
    e: tuple
    if fields is None or not _PEELED.isdisjoint(fields):
        e = (GENERAL,)
    elif dp.flags & otlp._NO_RECORDED_VALUE:
        e = (SKIP,)
    else:
        try:
            attrs = otlp._attrs(otlp._Proto, dp.attributes)
        except ValueError as exc:
            e = (REJECT, f"attributes: {exc}")
        else:
            key, raw, dropped = c.merged(attrs)
            e = (OVERFLOW, raw, key, dropped) if dropped else (POINT, raw)
    c.rests[rest] = e
    Context.remember()
    return e


def _in_request(dp: bytes):
    """The data point as the official classes read it inside a request (same nesting depth)."""
    for tag in _ENVELOPE:
        dp = tag + otlp._varint(len(dp)) + dp
    try:
        req = metrics_service_pb2.ExportMetricsServiceRequest.FromString(dp)
    except Exception:
        raise Reference from None
    return req.resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]


def _field_numbers(b: bytes) -> set[int] | None:
    """Top-level field numbers of a message the official classes accepted; None if unsure (groups)."""
    seen = set()
    i, n = 0, len(b)
    try:
        while i < n:
            key, i = _varint(b, i)
            seen.add(key >> 3)
            wire = key & 7
            if wire == 0:
                i = _varint(b, i)[1]
            elif wire == 1:
                i += 8
            elif wire == 2:
                size, i = _varint(b, i)
                i += size
            elif wire == 5:
                i += 4
            else:
                return None
    except IndexError:
        return None
    return seen if i == n else None


def _varint(b: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, i
        shift += 7
