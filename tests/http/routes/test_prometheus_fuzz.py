"""Hypothesis against Prometheus' API on a real `weir serve`: whatever the expression and
parameters, the answer is Prometheus' envelope and never a 5xx; a refused expression is a
400 `bad_data` naming the position (`line:column`), a refused parameter names the parameter.
(schemathesis covers the documented shapes in test_fuzz.py.)"""

from __future__ import annotations

import re
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TOKENS = ["cpu", "x_total", "{", "}", "(", ")", "[", "]", "5m", "1h", "=", "!=", "=~", "!~", '"a"', '"h.*"', ",",
          "host", "by", "without", "on", "ignoring", "group_left", "sum", "rate", "avg_over_time", "topk", "offset",
          "@", "start()", "+", "-", "*", "/", "^", "%", ">", "bool", "and", "or", "unless", "1", "0.5", "1e3", ":",
          " ", "__name__", "histogram_quantile", "label_replace", "`", "'", "NaN", "Inf", "#", "\\", "\n"]
PARAMS = ["time", "start", "end", "step", "timeout", "limit", "match[]", "query"]
VALUES = st.one_of(st.sampled_from(["", "0", "1", "-1", "1.5", "1e309", "5m", "1h30m", "2026-01-01T00:00:00Z", "NaN",
                                    "x", "cpu", "{a=\"\"}", "9223372036854775808"]), st.text(max_size=12))
PATHS = ["/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels", "/api/v1/format_query",
         "/api/v1/label/host/values", "/api/v1/label/__name__/values", "/api/v1/metadata"]
POSITION = re.compile(r"[0-9]+:[0-9]+: ")


@pytest.fixture(scope="module")
def weir(server):
    server.http.post("/metrics", {"metrics": [
        {"name": "cpu", "value": 1.5, "timestamp": 1_700_000_000 + i, "dimensions": {"host": f"h{i % 3}"}}
        for i in range(30)]})
    return server


def check(reply) -> dict:
    assert reply.status < 500, reply
    body = reply.json()
    assert body["status"] in ("success", "error"), body
    if body["status"] == "error":
        assert reply.status in (400, 413, 415, 422, 503) and body["errorType"] and body["error"], reply
    return body


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(expr=st.lists(st.sampled_from(TOKENS), max_size=14).map("".join), post=st.booleans())
def test_any_expression_is_answered_or_refused_with_its_position(weir, expr, post):
    params = {"query": expr, "time": "1700000010"}
    if post:
        reply = weir.http.request("POST", "/api/v1/query", urllib.parse.urlencode(params), headers=FORM)
    else:
        reply = weir.http.get("/api/v1/query", params=params)
    body = check(reply)
    if body["status"] == "error" and body["errorType"] == "bad_data":
        assert reply.status == 400
        assert body["error"].startswith('invalid parameter "query": '), body
        assert POSITION.search(body["error"]), body


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(path=st.sampled_from(PATHS), params=st.lists(st.tuples(st.sampled_from(PARAMS), VALUES), max_size=6),
       post=st.booleans())
def test_any_parameters_are_answered_or_refused_by_name(weir, path, params, post):
    if not any(k == "query" for k, _ in params):
        params.append(("query", "cpu"))
    encoded = urllib.parse.urlencode(params)
    if post and path in ("/api/v1/query", "/api/v1/query_range", "/api/v1/series", "/api/v1/labels",
                         "/api/v1/format_query"):
        reply = weir.http.request("POST", path, encoded, headers=FORM)
    else:
        reply = weir.http.get(f"{path}?{encoded}")
    body = check(reply)
    if body["status"] == "error" and body["errorType"] == "bad_data":
        names = re.findall(r'invalid parameter "([^"]+)"', body["error"])
        if names:
            assert names[0] in PARAMS, body
        else:  # Prometheus' few errors that name no parameter
            assert body["error"].startswith(("exceeded maximum resolution", "no match[]", "limit", "limit_per_metric",
                                             "invalid label name")), body
