"""The OTLP walker: mapping rules, the dimension bound, and no unexpected exception on any input."""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc

from weir.errors import InvalidInputError, PayloadTooLargeError
from weir.metrics.model import decode_dimensions
from weir.wire.otlp import decode as otlp
from weir.wire.shared import ingest_located


def _kv(target, key, **value):
    kv = target.add()
    kv.key = key
    for field, v in value.items():
        setattr(kv.value, field, v)


def request():
    req = svc.ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for k, v in (("service.name", "svc"), ("telemetry.sdk.name", "x"), ("process.pid", "1"), ("zone", "a"),
                 ("bad key!", "v"), ("host.name", "h1")):
        _kv(rm.resource.attributes, k, string_value=v)
    sm = rm.scope_metrics.add()
    sm.scope.name, sm.scope.version = "lib", "2"
    _kv(sm.scope.attributes, "flavour", bool_value=True)
    m = sm.metrics.add()
    m.name, m.unit = "s", "By"
    m.sum.is_monotonic = True
    dp = m.sum.data_points.add()
    dp.as_int, dp.time_unix_nano = 7, time.time_ns()
    _kv(dp.attributes, "n", int_value=3)
    _kv(dp.attributes, "zone", string_value="point-wins")
    arr = dp.attributes.add()
    arr.key = "list"
    arr.value.array_value.values.add().double_value = 0.5
    arr.value.array_value.values.add().string_value = "x"
    skipped = m.sum.data_points.add()
    skipped.flags = 1
    s = sm.metrics.add()
    s.name = "q"
    sdp = s.summary.data_points.add()
    sdp.count, sdp.sum = 4, 10.0
    for q, v in ((0.5, 2.0), (0.99, 3.0)):
        qv = sdp.quantile_values.add()
        qv.quantile, qv.value = q, v
    e = sm.metrics.add()
    e.name = "e"
    edp = e.exponential_histogram.data_points.add()
    edp.count, edp.sum, edp.min, edp.max = 3, 6.0, 1.0, 3.0
    return req


def test_mapping_and_context_order():
    d = otlp.decode(request().SerializeToString(), otlp.PROTOBUF)
    names = [(p.name, p.type, p.unit) for p in d.points]
    assert names == [("s", "counter", "By"), ("q.count", "counter", None), ("q.sum", "counter", None),
                     ("q", "gauge", None), ("q", "gauge", None), ("e.count", "counter", None),
                     ("e.sum", "counter", None), ("e.min", "gauge", None), ("e.max", "gauge", None)]
    dims = decode_dimensions(d.points[0].dimensions)
    assert list(dims) == ["n", "zone", "list", "service.name", "host.name", "otel.scope.name",
                          "otel.scope.version", "otel.scope.flavour"]
    assert dims["zone"] == "point-wins" and dims["n"] == "3" and dims["list"] == '[0.5,"x"]'
    assert dims["otel.scope.flavour"] == "true"
    assert decode_dimensions(d.points[3].dimensions)["quantile"] == "0.5"
    assert d.data_points == [("s", 0), ("s", 1), ("q", 0), ("e", 0)]
    assert any("not valid dimensions" in w for w in d.warnings)
    assert any("exponential" in w for w in d.warnings)


def test_json_and_protobuf_decode_alike():
    from google.protobuf import json_format

    req = request()
    a = otlp.decode(req.SerializeToString(), otlp.PROTOBUF)
    b = otlp.decode(json_format.MessageToJson(req), otlp.JSON)
    assert [(p.name, p.value, p.timestamp, bytes(p.dimensions)) for p in a.points] == \
           [(p.name, p.value, p.timestamp, bytes(p.dimensions)) for p in b.points]


def test_responses():
    assert otlp.response(otlp.JSON, 0, "") == b"{}"
    body = json.loads(otlp.response(otlp.JSON, 2, "bad"))
    assert body == {"partialSuccess": {"rejectedDataPoints": "2", "errorMessage": "bad"}}
    resp = svc.ExportMetricsServiceResponse.FromString(otlp.response(otlp.PROTOBUF, 2, "bad"))
    assert resp.partial_success.rejected_data_points == 2
    from google.rpc import status_pb2

    st_ = status_pb2.Status.FromString(otlp.status(otlp.PROTOBUF, 3, "é" * 200, "invalid_input"))
    assert st_.code == 3 and st_.message == "é" * 200


# -- properties -------------------------------------------------------------------------

_NUM = st.one_of(st.floats(), st.integers(-(2**63), 2**63 - 1))
_ATTR = st.tuples(st.text(max_size=8), st.one_of(st.text(max_size=8), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                                                  st.floats(), st.binary(max_size=4)))


@st.composite
def requests(draw):
    req = svc.ExportMetricsServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rm = req.resource_metrics.add()
        for k, v in draw(st.lists(_ATTR, max_size=35)):
            _set(rm.resource.attributes, k, v)
        sm = rm.scope_metrics.add()
        sm.scope.name = draw(st.text(max_size=5))
        for _ in range(draw(st.integers(0, 3))):
            m = sm.metrics.add()
            m.name = draw(st.sampled_from(["ok", "", "a/b", "x" * 300, "fine.name"]))
            m.unit = draw(st.sampled_from(["", "ms", "u" * 80]))
            kind = draw(st.sampled_from(["gauge", "sum", "histogram", "summary", "exponential_histogram"]))
            data = getattr(m, kind)
            for _ in range(draw(st.integers(0, 3))):
                dp = data.data_points.add()
                dp.time_unix_nano = draw(st.one_of(st.just(0), st.just(time.time_ns()), st.integers(0, 2**64 - 1)))
                dp.flags = draw(st.integers(0, 3))
                for k, v in draw(st.lists(_ATTR, max_size=32)):
                    _set(dp.attributes, k, v)
                _fill(draw, kind, dp)
    return req


def _set(target, k, v):
    kv = target.add()
    kv.key = k
    field = {str: "string_value", bool: "bool_value", int: "int_value", float: "double_value",
             bytes: "bytes_value"}[type(v)]
    setattr(kv.value, field, v)


def _fill(draw, kind, dp):
    if kind in ("gauge", "sum"):
        v = draw(st.one_of(st.none(), _NUM))
        if isinstance(v, float):
            dp.as_double = v
        elif isinstance(v, int):
            dp.as_int = v
    elif kind == "summary":
        dp.count, dp.sum = draw(st.integers(0, 2**64 - 1)), draw(st.floats())
        for q, v in draw(st.lists(st.tuples(st.floats(), st.floats()), max_size=3)):
            qv = dp.quantile_values.add()
            qv.quantile, qv.value = q, v
    else:
        dp.count = draw(st.integers(0, 2**64 - 1))
        if draw(st.booleans()):
            dp.sum = draw(st.floats())
        if kind == "histogram":
            dp.explicit_bounds.extend(draw(st.lists(st.floats(), max_size=4)))
            dp.bucket_counts.extend(draw(st.lists(st.integers(0, 2**64 - 1), max_size=5)))


def _ingest(ingest, d):
    if not d.points:
        return
    try:
        result = ingest_located(ingest, d.points, d.rejected, d.where)
    except InvalidInputError:
        return
    n = otlp.rejected_data_points(d, result.rejected)
    otlp.response(otlp.PROTOBUF, n, otlp.summary(d, result.rejected, n))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(requests(), st.booleans())
def test_any_structured_request_is_stored_or_a_4xx(ingest, req, as_json):
    from google.protobuf import json_format

    body = json_format.MessageToJson(req) if as_json else req.SerializeToString()
    try:
        d = otlp.decode(body, otlp.JSON if as_json else otlp.PROTOBUF)
    except (InvalidInputError, PayloadTooLargeError):
        return
    _ingest(ingest, d)


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(
        st.sampled_from(["resourceMetrics", "scopeMetrics", "metrics", "gauge", "sum", "histogram", "dataPoints",
                         "asDouble", "asInt", "name", "attributes", "key", "value", "stringValue", "arrayValue",
                         "values", "timeUnixNano", "bucketCounts", "explicitBounds", "summary", "quantileValues",
                         "count", "kvlistValue", "resource", "scope", "isMonotonic", "flags"]), inner, max_size=5)),
    max_leaves=40,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])
@given(st.one_of(st.binary(max_size=300), _JSON.map(lambda v: json.dumps(v).encode())), st.booleans())
def test_any_bytes_are_decoded_or_a_4xx(ingest, body, as_json):
    try:
        d = otlp.decode(body, otlp.JSON if as_json else otlp.PROTOBUF)
    except (InvalidInputError, PayloadTooLargeError):
        return
    _ingest(ingest, d)


def test_protobuf_is_imported_only_for_protobuf_requests():
    import os
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys\n"
        "from weir.http.app import build_app\n"
        "from weir.wire.otlp import decode as otlp\n"
        "otlp.decode(b'{}', otlp.JSON)\n"
        "print(any(m.startswith(('google.protobuf', 'opentelemetry')) for m in sys.modules))\n"
    )
    src = Path(__file__).resolve().parents[3] / "src"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(src)})
    assert out.stdout.strip() == "False"
