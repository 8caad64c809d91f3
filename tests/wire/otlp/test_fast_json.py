"""The OTLP/JSON fast path (raw data point attributes) against the reference (whole schema).

The attributes are where the two schemas differ, so that is where the bodies vary most: wrong
types, null, integers as strings, NaN, nesting just past what Weir reads and far past msgspec's
own limit, skipped data points with bad attributes, context that overflows 30 dimensions.
"""

from __future__ import annotations

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.wire.otlp.test_decode import requests
from weir.errors import WeirError
from weir.metrics import limits
from weir.wire.otlp import context as otlp_context
from weir.wire.otlp import fast_json as otlp_json

NOW_NS = time.time_ns()


def outcome(decode, body):
    try:
        d = decode(body)
    except WeirError as exc:
        return type(exc).__name__, exc.message
    points = [p and (p.name, p.value, p.timestamp, p.type, p.unit, bytes(p.dimensions)) for p in d.points]
    return points, [(r.index, r.error) for r in d.rejected], d.origin, d.data_points, d.warnings


def same(body) -> tuple:
    expected = outcome(otlp_json.reference, body)
    otlp_context._contexts.clear()
    assert outcome(otlp_json.decode, body) == expected
    assert outcome(otlp_json.decode, body) == expected  # with the caches warm
    return expected


def nested(depth: int) -> str:
    return '{"arrayValue":{"values":[' * depth + '{"stringValue":"x"}' + "]}}" * depth


_DEEP = {"DEEP8": nested(8), "DEEP9": nested(9), "DEEP600": nested(600), "DEEP3000": nested(3000)}

_value = st.deferred(lambda: st.one_of(
    st.sampled_from(["h1", "h2", "é", ""]).map(lambda s: {"stringValue": s}),
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from(["12", "x", 1.5])).map(lambda i: {"intValue": i}),
    st.one_of(st.booleans(), st.just("true")).map(lambda b: {"boolValue": b}),
    st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["NaN", "Infinity"])).map(
        lambda f: {"doubleValue": f}),
    st.just({"bytesValue": "AAE="}),
    st.lists(_value, max_size=2).map(lambda vs: {"arrayValue": {"values": vs}}),
    st.lists(st.tuples(st.sampled_from(["k", ""]), _value), max_size=2).map(
        lambda kvs: {"kvlistValue": {"values": [{"key": k, "value": v} for k, v in kvs]}}),
    st.sampled_from([{}, None, 5, "DEEP8", "DEEP9", "DEEP600", "DEEP3000"]),
))
_key = st.sampled_from(["host", "region", "bad key", "", "service.name"])
_attributes = st.one_of(
    st.lists(st.one_of(
        st.builds(lambda k, v: {"key": k, "value": {"stringValue": v}}, _key, st.sampled_from(["h1", "h2"])),
        st.builds(lambda k, v: {"key": k, "value": v}, _key, _value),
    ), max_size=3),
    st.sampled_from([None, 5, [1], [{"key": 5}], [{"value": {"stringValue": "v"}}], {}]),
)


@st.composite
def data_points(draw) -> dict:
    dp: dict = {}
    if draw(st.integers(0, 5)):
        dp["attributes"] = draw(_attributes)
    dp["timeUnixNano"] = draw(st.sampled_from([NOW_NS, str(NOW_NS), 0, "x", -1, 2**64]))
    value = draw(st.sampled_from(["asDouble", "asInt", None, "both"]))
    if value in ("asDouble", "both"):
        dp["asDouble"] = draw(st.one_of(st.floats(allow_nan=False, allow_infinity=False),
                                        st.sampled_from(["NaN", "Infinity", "1.5", True])))
    if value in ("asInt", "both"):
        dp["asInt"] = draw(st.sampled_from([3, "4", 2**64, "x"]))
    if draw(st.integers(0, 3)) == 0:
        dp["flags"] = draw(st.integers(0, 3))
    if draw(st.integers(0, 9)) == 0:
        dp["exemplars"] = [{"asDouble": 1.0, "filteredAttributes": [{"key": "t", "value": {"stringValue": "x"}}]}]
    return dp


@st.composite
def bodies(draw) -> str:
    resource = [{"key": k, "value": {"stringValue": "v"}}
                for k in draw(st.lists(st.sampled_from(["service.name", "host.name", "zone"]), max_size=3))]
    if draw(st.integers(0, 4)) == 0:
        resource += [{"key": f"r{n}", "value": {"stringValue": "v"}} for n in range(31)]
    metrics = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["gauge", "sum", "sum", "histogram"]))
        dps = draw(st.lists(data_points(), max_size=4))
        if kind == "histogram":
            dps = [{"timeUnixNano": NOW_NS, "count": 2, "bucketCounts": [1, 1], "explicitBounds": [1.0],
                    "attributes": dp.get("attributes", [])} for dp in dps]
        data = {"dataPoints": dps}
        if kind == "sum":
            data["isMonotonic"] = draw(st.booleans())
        metrics.append({"name": draw(st.sampled_from(["cpu", "bad/name"])), kind: data})
    body = json.dumps({"resourceMetrics": [{"resource": {"attributes": resource},
                                            "scopeMetrics": [{"scope": {"name": "lib"}, "metrics": metrics}]}]})
    for placeholder, text in _DEEP.items():
        body = body.replace(f'"{placeholder}"', text)
    return body


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(bodies())
def test_fast_path_agrees_with_the_reference(body):
    same(body)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests())
def test_sdk_shaped_requests_agree(req):
    from google.protobuf import json_format

    same(json_format.MessageToJson(req))


def test_the_usual_request_takes_the_cache():
    dps = [{"timeUnixNano": str(NOW_NS), "asDouble": i,
            "attributes": [{"key": "host", "value": {"stringValue": f"h{i}"}}]} for i in range(50)]
    metrics = [{"name": "cpu", "gauge": {"dataPoints": dps}}]
    body = json.dumps({"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]})
    assert [p[1] for p in same(body)[0]] == [float(i) for i in range(50)]
    [context] = otlp_context._contexts.values()
    assert len(context.attrs) == 50


def test_a_bad_attribute_after_the_limit_is_still_a_400():
    n = limits.MAX_POINTS_PER_REQUEST
    good = [{"timeUnixNano": NOW_NS, "asDouble": 1.0, "attributes": [{"key": "h", "value": {"stringValue": str(i)}}]}
            for i in range(n - 1)]
    histogram = {"name": "h", "histogram": {"dataPoints": [
        {"timeUnixNano": NOW_NS, "count": 3, "bucketCounts": [1, 2], "explicitBounds": [1.0]}]}}
    metrics = [{"name": "g", "gauge": {"dataPoints": good}}, histogram]
    body = {"resourceMetrics": [{"scopeMetrics": [{"metrics": metrics}]}]}
    assert same(json.dumps(body))[0] == "PayloadTooLargeError"
    metrics.append({"name": "g2", "gauge": {"dataPoints": [{"asDouble": 1.0, "attributes": [{"key": 5}]}]}})
    assert same(json.dumps(body))[0] == "InvalidInputError"
