"""The text-format parser and grouping keys: mapping, escapes, and no unexpected exception."""

from __future__ import annotations

import base64

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weir.errors import InvalidInputError, PayloadTooLargeError
from weir.metrics.model import decode_dimensions
from weir.wire.prometheus import parse_grouping, parse_text, to_points
from weir.wire.shared import ingest_located

TEXT = """\
# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000
# TYPE lat histogram
lat_bucket{le="0.05"} 24054
lat_bucket{le="+Inf"} 144320
lat_sum 53423
lat_count 144320
# TYPE rpc summary
rpc{quantile="0.5"} 4773
rpc_sum 1.7560473e+07
rpc_count 2693
escaped{path="C:\\\\dir\\\\",msg="say \\"hi\\"\\nbye",empty=""} -Inf
untyped_thing 1e-3
"""


def test_types_families_and_labels():
    samples = parse_text(TEXT)
    got = [(s.name, s.family, s.kind) for s in samples]
    assert got == [
        ("http_requests_total", "http_requests_total", "counter"),
        ("http_requests_total", "http_requests_total", "counter"),
        ("lat_bucket", "lat", "counter"), ("lat_bucket", "lat", "counter"),
        ("lat_sum", "lat", "counter"), ("lat_count", "lat", "counter"),
        ("rpc", "rpc", "gauge"), ("rpc_sum", "rpc", "counter"), ("rpc_count", "rpc", "counter"),
        ("escaped", "escaped", "gauge"), ("untyped_thing", "untyped_thing", "gauge"),
    ]
    assert samples[0].ts_ms == 1395066363000 and samples[1].value == 3.0
    assert samples[9].labels == {"path": "C:\\dir\\", "msg": 'say "hi"\nbye', "empty": ""}


def test_to_points_adds_grouping_and_rejects_non_finite():
    d = to_points(parse_text(TEXT), {"job": "j", "code": "999"})
    p = d.points[0]
    assert decode_dimensions(p.dimensions) == {"method": "post", "code": "999", "job": "j"}
    assert p.type == "counter" and p.timestamp == 1395066363000 * 10**6
    assert d.points[9] is None and d.rejected[0].index == 9 and "line 14" in d.rejected[0].error
    assert decode_dimensions(d.points[2].dimensions) == {"le": "0.05", "job": "j", "code": "999"}


def test_grouping_paths():
    b64 = base64.urlsafe_b64encode(b"/var/tmp").decode().rstrip("=")
    assert parse_grouping(f"/metrics/job/cleaner/path@base64/{b64}") == {"job": "cleaner", "path": "/var/tmp"}
    assert parse_grouping("/metrics/job/titan/name/Πρ") == {"job": "titan", "name": "Πρ"}
    # the path comes decoded once already: what looks like an escape is the value itself
    assert parse_grouping("/metrics/job/j/instance/a%41") == {"job": "j", "instance": "a%41"}
    assert parse_grouping("/metrics/job/x/first@base64/=/second/y/") == {"job": "x", "second": "y"}
    for bad, fragment in (("/metrics/job/", "label/value pairs"), ("/metrics/job/x/a", "pairs"),
                          ("/metrics/job/x/a-b/1", "label name"), ("/metrics/job/x/a/1/a/2", "twice"),
                          ("/metrics/jobs/x", "must look like"), ("/metrics/job@base64/=", "empty")):
        with pytest.raises(InvalidInputError, match=fragment):
            parse_grouping(bad)


def test_limits_and_syntax_errors():
    with pytest.raises(PayloadTooLargeError):
        parse_text("\n".join(f"m{i} 1" for i in range(10_001)))
    for text, fragment in (("# TYPE m counter\n# TYPE m gauge\n", "second TYPE"), ("m{a=\"1\" 1", "expected ','"),
                           ("{a=\"1\"} 1", "metric name"), ("m 1 2 3", "expected"), ("m-1 2", "expected")):
        with pytest.raises(InvalidInputError, match=fragment):
            parse_text(text)


_VALUE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.dictionaries(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True), _VALUE, max_size=5),
       st.floats(allow_nan=False))
def test_label_escaping_round_trips(labels, value):
    def esc(v):
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

    body = "m{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "} " + repr(value)
    [s] = parse_text(body)
    assert s.labels == labels and s.value == value


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                   HealthCheck.too_slow])
@given(st.one_of(st.text(st.sampled_from(list('m_a{}="\\, #\n\t0123456789.e+-NaInfTYPEcounter:lebucket')),
                         max_size=200), st.text(max_size=200)),
       st.text(st.sampled_from(list("/jobab@se64=%2F_x-")), max_size=40))
def test_any_input_is_parsed_or_a_4xx(ingest, text, path):
    try:
        grouping = parse_grouping("/metrics/" + path)
    except InvalidInputError:
        grouping = {"job": "fuzz"}
    try:
        d = to_points(parse_text(text), grouping)
    except (InvalidInputError, PayloadTooLargeError):
        return
    if d.points:
        try:
            ingest_located(ingest, d.points, d.rejected, d.where)
        except InvalidInputError:
            pass
