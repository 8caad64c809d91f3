"""The protobuf fast path (`fast_pb`) against the reference (official classes, general path).

Data points are written field by field, in any order, repeated, with unknown fields, wrong wire
types, non-minimal tags and corrupted bytes, so that every shortcut of the fast path (peeling the
leading fixed64 fields, caching the rest, the request-shaped envelope) meets the inputs that could
break it. Both paths must give the same points, rejections, warnings, or the same error.
"""

from __future__ import annotations

import json
import struct
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.metrics.v1 import metrics_pb2

from weir.errors import WeirError
from weir.metrics import limits
from weir.wire.otlp import context as otlp_context
from weir.wire.otlp import fast_pb as otlp_pb
from weir.wire.otlp import reference as otlp

NOW_NS = time.time_ns()


def outcome(decode, body: bytes):
    try:
        d = decode(body)
    except WeirError as exc:
        return type(exc).__name__, exc.message
    points = [p and (p.name, p.value, p.timestamp, p.type, p.unit, bytes(p.dimensions)) for p in d.points]
    return points, [(r.index, r.error) for r in d.rejected], d.origin, d.data_points, d.warnings


def same(body: bytes) -> tuple:
    """The reference outcome, after checking the fast path agrees with a cold and a warm cache."""
    expected = outcome(otlp_pb.reference, body)
    otlp_context._contexts.clear()
    assert outcome(otlp_pb.decode, body) == expected
    assert outcome(otlp_pb.decode, body) == expected
    return expected


# -- bytes, field by field ------------------------------------------------------------------


def varint(n: int) -> bytes:
    return otlp._varint(n)


def field(number: int, wire: int, payload: bytes) -> bytes:
    if wire == 2:
        payload = varint(len(payload)) + payload
    return varint(number << 3 | wire) + payload


_any_value = st.deferred(lambda: st.one_of(
    st.text(max_size=6).map(lambda s: common_pb2.AnyValue(string_value=s)),
    st.booleans().map(lambda b: common_pb2.AnyValue(bool_value=b)),
    st.integers(-(2**63), 2**63 - 1).map(lambda i: common_pb2.AnyValue(int_value=i)),
    st.floats().map(lambda f: common_pb2.AnyValue(double_value=f)),
    st.binary(max_size=4).map(lambda b: common_pb2.AnyValue(bytes_value=b)),
    st.just(common_pb2.AnyValue()),
    st.lists(_any_value, max_size=2).map(lambda vs: common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=vs))),
    st.lists(st.tuples(st.text(max_size=3), _any_value), max_size=2).map(lambda kvs: common_pb2.AnyValue(
        kvlist_value=common_pb2.KeyValueList(values=[common_pb2.KeyValue(key=k, value=v) for k, v in kvs]))),
))
_key = st.sampled_from(["host", "region", "zone", "a.b", "bad key", "", "service.name", "le"])


@st.composite
def key_values(draw) -> bytes:
    """A KeyValue, usually plain strings (cache hits), sometimes any value, nested deep or not."""
    key = draw(_key)
    if draw(st.integers(0, 3)):
        value = common_pb2.AnyValue(string_value=draw(st.sampled_from(["h1", "h2", "r0", "", "é"]))).SerializeToString()
    else:
        value = draw(_any_value).SerializeToString()
        for _ in range(draw(st.sampled_from([0, 0, 0, 9, 45, 46, 47, 60]))):  # around upb's nesting limit
            value = field(5, 2, field(1, 2, value))  # AnyValue{array_value: ArrayValue{values: [value]}}
    return field(1, 2, key.encode()) + field(2, 2, value)


def exemplar(draw) -> bytes:
    ex = metrics_pb2.Exemplar(time_unix_nano=draw(st.integers(0, 2**64 - 1)), as_double=draw(st.floats()))
    ex.filtered_attributes.add(key="trace", value=common_pb2.AnyValue(string_value="t"))
    return ex.SerializeToString()


_u64 = st.integers(0, 2**64 - 1)
_time = st.one_of(st.just(NOW_NS), st.just(0), st.just(NOW_NS - 10**9), _u64)


@st.composite
def number_data_points(draw) -> bytes:
    """A NumberDataPoint's bytes: fields in encoder order or shuffled, repeated, unknown, odd."""
    fields = [field(2, 1, struct.pack("<Q", draw(_u64)))] if draw(st.booleans()) else []
    if draw(st.integers(0, 5)):
        fields.append(field(3, 1, struct.pack("<Q", draw(_time))))
    value = draw(st.sampled_from(["double", "double", "int", "none", "both"]))
    if value in ("double", "both"):
        fields.append(field(4, 1, struct.pack("<d", draw(st.one_of(st.floats(), st.just(1.5))))))
    if value in ("int", "both"):
        fields.append(field(6, 1, struct.pack("<q", draw(st.integers(-(2**63), 2**63 - 1)))))
    fields += [field(7, 2, kv) for kv in draw(st.lists(key_values(), max_size=3))]
    if draw(st.integers(0, 3)) == 0:
        fields.append(field(8, 0, varint(draw(st.integers(0, 3)))))
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        fields.insert(draw(st.integers(0, len(fields))), draw(odd_fields()))
    if draw(st.integers(0, 5)) == 0:
        fields = draw(st.permutations(fields))
    dp = b"".join(fields)
    if draw(st.integers(0, 7)) == 0:  # cut short: inside the leading fields, or later
        dp = dp[:draw(st.one_of(st.integers(0, 28), st.integers(0, len(dp))))]
    return dp


@st.composite
def odd_fields(draw) -> bytes:
    kind = draw(st.sampled_from(["unknown", "wrong wire type", "repeat", "non-minimal tag", "group", "exemplar"]))
    if kind == "unknown":
        number = draw(st.sampled_from([1, 9, 15, 16, 100, 2**29 - 1]))
        wire = draw(st.sampled_from([0, 1, 2, 5]))
        payload = {0: varint(draw(_u64)), 1: bytes(8), 2: draw(st.binary(max_size=5)), 5: bytes(4)}[wire]
        return field(number, wire, payload)
    if kind == "wrong wire type":
        return field(draw(st.sampled_from([3, 4, 6, 7, 8])), draw(st.sampled_from([0, 2, 5])), varint(5))
    if kind == "repeat":  # time or value again after the attributes: the last one wins
        number = draw(st.sampled_from([3, 4, 6]))
        return field(number, 1, struct.pack("<Q", draw(_time)))
    if kind == "non-minimal tag":  # field 3 or 4, tag written in two bytes
        return bytes([draw(st.sampled_from([0x99, 0xA1])), 0x00]) + struct.pack("<d", 2.5)
    if kind == "group":
        return varint(20 << 3 | 3) + field(1, 0, varint(1)) + varint(20 << 3 | 4)
    return field(5, 2, exemplar(draw))


@st.composite
def bodies(draw) -> bytes:
    """A request built on the fast path's own view, so data point bytes go in verbatim."""
    req = otlp_pb._Request()
    for _ in range(draw(st.integers(1, 2))):
        rm = req.resource_metrics.add()
        for k in draw(st.lists(st.sampled_from(["service.name", "host.name", "zone", "telemetry.x"]), max_size=3)):
            rm.resource.attributes.add(key=k, value={"string_value": "v"})
        for n in range(draw(st.sampled_from([0, 0, 0, 31]))):  # enough context to overflow 30 dimensions
            rm.resource.attributes.add(key=f"r{n}", value={"string_value": "v"})
        for _ in range(draw(st.integers(1, 2))):
            sm = rm.scope_metrics.add()
            sm.scope.name = draw(st.sampled_from(["", "lib"]))
            for _ in range(draw(st.integers(0, 3))):
                m = sm.metrics.add()
                m.name = draw(st.sampled_from(["cpu", "mem.used", "bad/name", ""]))
                m.unit = draw(st.sampled_from(["", "By"]))
                kind = draw(st.sampled_from(["gauge", "sum", "sum", "histogram", "summary", "exponential_histogram"]))
                if kind in ("gauge", "sum"):
                    data = getattr(m, kind)
                    if kind == "sum":
                        data.is_monotonic = draw(st.booleans())
                    data.data_points.extend(draw(st.lists(number_data_points(), max_size=4)))
                    if kind == "gauge" and not data.data_points:
                        m.gauge.SetInParent()
                else:
                    _other_kind(draw, m, kind)
    body = req.SerializeToString()
    if draw(st.integers(0, 9)) == 0 and body:  # corrupt a byte, or cut the body short
        i = draw(st.integers(0, len(body) - 1))
        body = body[:i] if draw(st.booleans()) else body[:i] + bytes([draw(st.integers(0, 255))]) + body[i + 1:]
    return body


def _other_kind(draw, m, kind: str) -> None:
    for _ in range(draw(st.integers(1, 2))):
        dp = getattr(m, kind).data_points.add()
        dp.time_unix_nano = NOW_NS
        dp.attributes.add(key="host", value={"string_value": draw(st.sampled_from(["h1", "h2"]))})
        dp.count = draw(st.integers(0, 10))
        if kind == "summary":
            dp.quantile_values.add(quantile=0.5, value=1.0)
        else:
            dp.sum = 3.0
        if kind == "histogram":
            dp.explicit_bounds.extend([1.0, 2.0])
            dp.bucket_counts.extend(draw(st.sampled_from([[1, 2, 3], [1]])))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_fast_path_agrees_with_the_reference(body):
    same(body)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_agree(body):
    same(body)


# -- cases named on purpose -------------------------------------------------------------------


def sdk_shaped(n: int, skipped: int = 0, as_int: bool = True) -> bytes:
    req = svc.ExportMetricsServiceRequest()
    m = req.resource_metrics.add().scope_metrics.add().metrics.add()
    m.name = "cpu"
    for i in range(n):
        dp = m.sum.data_points.add()
        dp.start_time_unix_nano, dp.time_unix_nano = NOW_NS - 10**9, NOW_NS
        if as_int:
            dp.as_int = i
        else:
            dp.as_double = i
        dp.attributes.add(key="host", value=common_pb2.AnyValue(string_value=f"h{i}"))
        dp.flags = 1 if i < skipped else 0
    return req.SerializeToString()


@pytest.mark.parametrize("as_int", [True, False])
def test_sdk_shape_takes_the_cache(as_int):
    body = sdk_shaped(50, as_int=as_int)
    points = same(body)[0]
    assert [p[1] for p in points] == [float(i) for i in range(50)]
    [context] = otlp_context._contexts.values()
    kinds = [e[0] for e in context.rests.values()]
    assert kinds == [otlp_context.POINT] * 50  # one rest per series, each read from the leading bytes


def test_a_bad_data_point_after_the_limit_is_still_a_400():
    """Past the point limit the fast path has not read every data point yet; the reference
    would have refused the malformed one first."""
    req = otlp_pb._Request()
    sm = req.resource_metrics.add().scope_metrics.add()
    sm.metrics.add(name="g").gauge.data_points.extend(
        [struct.pack("<BQBd", 0x19, NOW_NS, 0x21, 1.0) + field(7, 2, field(1, 2, f"h{i}".encode()))
         for i in range(limits.MAX_POINTS_PER_REQUEST - 1)])
    h = sm.metrics.add(name="h").histogram.data_points.add(count=3, sum=1.0, time_unix_nano=NOW_NS)
    h.explicit_bounds.extend([1.0])
    h.bucket_counts.extend([1, 2])
    good = req.SerializeToString()
    assert same(good)[0] == "PayloadTooLargeError"
    sm.metrics.add(name="g2").gauge.data_points.append(field(7, 2, b"\x0a\x09short"))  # length past the end
    assert same(req.SerializeToString())[0] == "InvalidInputError"


def test_point_limit_near_and_past_it():
    limit = limits.MAX_POINTS_PER_REQUEST
    assert same(sdk_shaped(limit))[0][-1][1] == limit - 1
    assert same(sdk_shaped(limit + 1))[0] == "PayloadTooLargeError"
    assert len(same(sdk_shaped(limit + 5, skipped=5))[0]) == limit  # skipped points do not count
    broken = sdk_shaped(limit + 1)
    assert same(broken[:-3])[0] == "InvalidInputError"  # malformed is a 400 before it is a 413


_NESTING = """
import json
from tests.wire.otlp import test_fast_pb as t
from opentelemetry.proto.common.v1 import common_pb2

limit = next(d for d in range(20, 120) if not t._parses(t._nested_body(d)))
attr = common_pb2.KeyValue(key="a", value=t._nested(limit)).SerializeToString()
assert common_pb2.KeyValue.FromString(attr)  # on its own, the attribute is fine
bodies = [t._nested_body(limit - 1), t._nested_body(limit)]
answers = [t.same(b) for b in bodies]
from google._upb import _message
_message.SetAllowOversizeProtos(True)  # as pulumi.runtime does on import: no nesting limit
answers.append(t.same(bodies[1]))
print(json.dumps([a[0] if isinstance(a[0], str) else [error for _, error in a[1]] for a in answers]))
"""


def test_nesting_limit_is_the_whole_requests():
    """An attribute nested just past upb's limit inside a request fails the request, although
    the same attribute parsed on its own would not: the envelope keeps the depth. A fresh
    interpreter, since importing pulumi lifts the limit for the whole process."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    out = subprocess.run([sys.executable, "-c", _NESTING], capture_output=True, text=True, check=True, cwd=root,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "src"), str(root)])})
    below, at, lifted = json.loads(out.stdout)
    assert below == lifted == ["attributes: nested more than 8 levels deep"]
    assert at == "InvalidInputError"


def _nested(depth: int):
    v = common_pb2.AnyValue(string_value="x")
    for _ in range(depth):
        v = common_pb2.AnyValue(array_value=common_pb2.ArrayValue(values=[v]))
    return v


def _nested_body(depth: int) -> bytes:
    req = svc.ExportMetricsServiceRequest()
    dp = req.resource_metrics.add().scope_metrics.add().metrics.add(name="g").gauge.data_points.add()
    dp.as_double, dp.time_unix_nano = 1.0, NOW_NS
    dp.attributes.add(key="a", value=_nested(depth))
    return req.SerializeToString()


def _parses(body: bytes) -> bool:
    try:
        svc.ExportMetricsServiceRequest.FromString(body)
    except Exception:
        return False
    return True


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_agrees_when_the_caches_are_forgotten_mid_request(body):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(otlp_context, "_CACHE_LIMIT", 2)
        same(body)


@pytest.mark.parametrize("start", [True, False])
@pytest.mark.parametrize("value", [(4, "<d", 2.5), (6, "<q", -7)])
def test_every_cut_of_the_usual_layouts(start, value):
    number, fmt, v = value
    dp = (field(2, 1, struct.pack("<Q", NOW_NS - 10**9)) if start else b"") + field(3, 1, struct.pack("<Q", NOW_NS)) \
        + field(number, 1, struct.pack(fmt, v)) + field(7, 2, field(1, 2, b"host") + field(2, 2, field(1, 2, b"h1")))
    for cut in range(len(dp) + 1):
        req = otlp_pb._Request()
        req.resource_metrics.add().scope_metrics.add().metrics.add(name="g").gauge.data_points.append(dp[:cut])
        same(req.SerializeToString())
