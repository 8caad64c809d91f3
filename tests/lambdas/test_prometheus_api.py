"""Prometheus' HTTP API through the `api` function over DynamoDB (moto): the same answers
as `weir serve` gives, from events shaped as API Gateway sends them (form bodies arrive
base64-encoded, since the API declares `*/*` binary)."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse

import pytest

from .conftest import apigw_event, context

BASE = (int(time.time()) // 3600 - 2) * 3600  # whole hours in the past: nothing moves under the queries
STEP, N = 30, 40


def call(method: str, path: str, query: dict | None = None, form: dict | None = None, body: str | None = None,
         ctx=None) -> tuple[int, dict]:
    from weir.lambdas import api

    ev = apigw_event("post_metrics_batch")
    multi = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()}
    headers = {k: v for k, v in ev["headers"].items() if k != "Content-Type"}
    if form is not None:
        body = urllib.parse.urlencode(form, doseq=True)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    elif body is not None:
        headers["Content-Type"] = "application/json"
    ev.update(
        httpMethod=method, path=urllib.parse.quote(path), headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        queryStringParameters={k: v[-1] for k, v in multi.items()} or None,
        multiValueQueryStringParameters=multi or None,
        body=base64.b64encode(body.encode()).decode() if body is not None else None,
        isBase64Encoded=body is not None,
    )
    ev["pathParameters"] = {"proxy": path.lstrip("/")}
    response = api.handler(ev, ctx or context())
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]
    return response["statusCode"], json.loads(response["body"])


def value(host: int, j: int) -> float:
    return 20.0 * host + j % 9


@pytest.fixture
def loaded(lambda_env):
    pts = [{"name": "cpu", "value": value(h, j), "timestamp": BASE + STEP * j, "unit": "Percent",
            "dimensions": {"host": f"h{h}", "region": f"r{h % 2}"}} for j in range(N) for h in range(3)]
    pts += [{"name": "requests_total", "value": 3 * j, "timestamp": BASE + STEP * j, "type": "counter",
             "dimensions": {"host": "h0"}} for j in range(N)]
    pts += [{"name": "http.server.duration", "value": 1.5, "timestamp": BASE + STEP * j} for j in range(N)]
    status, body = call("POST", "/metrics", body=json.dumps({"metrics": pts}))
    assert status == 200 and body["accepted"] == len(pts), body
    return lambda_env


def test_instant_and_range_queries(loaded):
    t = BASE + STEP * 10
    status, body = call("GET", "/api/v1/query", {"query": "cpu", "time": str(t)})
    assert status == 200 and body["status"] == "success"
    got = {s["metric"]["host"]: s["value"] for s in body["data"]["result"]}
    assert got == {f"h{h}": [t, f"{value(h, 10):g}"] for h in range(3)}
    form = {"query": "sum by (region) (cpu)", "start": str(BASE), "end": str(BASE + STEP * 8), "step": "60"}
    status, body = call("POST", "/api/v1/query_range", form=form)
    assert status == 200 and body["data"]["resultType"] == "matrix"
    series = {s["metric"]["region"]: s["values"] for s in body["data"]["result"]}
    for r, hosts in (("r0", (0, 2)), ("r1", (1,))):
        assert series[r] == [[BASE + STEP * j, f"{sum(value(h, j) for h in hosts):g}"] for j in range(0, 9, 2)]
    status, body = call("GET", "/api/v1/query", {"query": "rate(requests_total[5m])", "time": str(BASE + STEP * 20)})
    assert status == 200 and float(body["data"]["result"][0]["value"][1]) == pytest.approx(3 / STEP)


def test_metadata_endpoints(loaded):
    assert call("GET", "/api/v1/labels")[1]["data"] == ["__name__", "host", "region"]
    assert call("POST", "/api/v1/labels", form={"match[]": "cpu"})[1]["data"] == ["__name__", "host", "region"]
    names = call("GET", "/api/v1/label/__name__/values")[1]["data"]
    assert names == ["cpu", "http.server.duration", "requests_total"]
    assert call("GET", "/api/v1/label/region/values", {"match[]": ['cpu{host="h1"}']})[1]["data"] == ["r1"]
    status, body = call("POST", "/api/v1/series", form={"match[]": ["requests_total", '{"http.server.duration"}']})
    assert status == 200 and body["data"] == [{"__name__": "http.server.duration"},
                                              {"__name__": "requests_total", "host": "h0"}]
    meta = call("GET", "/api/v1/metadata")[1]["data"]
    assert meta["cpu"] == [{"type": "gauge", "help": "", "unit": "Percent"}]
    assert meta["requests_total"] == [{"type": "counter", "help": "", "unit": ""}]
    assert "features" not in call("GET", "/api/v1/status/buildinfo")[1]["data"]


def test_errors_are_prometheus_envelopes(loaded):
    status, body = call("GET", "/api/v1/query", {"query": "sum(cpu"})
    assert status == 400 and body["errorType"] == "bad_data" and "parse error" in body["error"]
    status, body = call("POST", "/api/v1/query_range", form={"query": "cpu", "start": "1", "end": "0", "step": "1"})
    assert (status, body["errorType"]) == (400, "bad_data") and 'parameter "end"' in body["error"]
    status, body = call("GET", "/api/v1/series")
    assert (status, body["error"]) == (400, "no match[] parameter provided")


def test_an_expression_too_deep_to_parse_is_a_400_at_every_entry_point(lambda_env):
    """The `api` function parses as `weir serve` does, so the same bound keeps promql-parser's
    stack (here the Lambda's own process) whole: `x and x and ...` 5,000 long crashed it."""
    deep = " and ".join(["x"] * 5_000)
    for method, path, params in (
        ("POST", "/api/v1/query", {"query": deep}),
        ("POST", "/api/v1/query_range", {"query": deep, "start": "1", "end": "61", "step": "60"}),
        ("POST", "/api/v1/format_query", {"query": deep}),
        ("POST", "/api/v1/series", {"match[]": deep}),
        ("GET", "/api/v1/labels", {"match[]": deep}),
        ("GET", "/api/v1/label/host/values", {"match[]": deep}),
    ):
        get = method == "GET"
        status, body = call(method, path, params if get else None, form=None if get else params)
        assert (status, body["errorType"]) == (400, "bad_data"), (path, body)
        assert "parse error: more than 250 operators" in body["error"], body


class _NoTimeLeft:
    """A Lambda context whose invocation is about to time out."""

    function_name, function_version, memory_limit_in_mb = "weir-api", "$LATEST", 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:weir-api"
    aws_request_id = "test"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 1_000


def test_a_query_stops_before_the_invocation_times_out(loaded):
    """Less time left than the margin: the query's deadline has passed, a 503 timeout."""
    status, body = call("GET", "/api/v1/query", {"query": "cpu", "time": str(BASE)}, ctx=_NoTimeLeft())
    assert (status, body["errorType"]) == (503, "timeout")


COLD = """
import json, sys
from weir.lambdas import api
from weir.http.gateway import LambdaContext
event = json.load(open({event!r}))
assert api.handler(event, LambdaContext())["statusCode"] == 200
heavy = ("numpy", "promql_parser", "weir.promql.engine", "weir.promql.source")
print(json.dumps([m for m in heavy if m in sys.modules]))
event.update(path="/api/v1/query", queryStringParameters={{"query": "1+1", "time": "1"}},
             multiValueQueryStringParameters={{"query": ["1+1"], "time": ["1"]}})
assert api.handler(event, LambdaContext())["statusCode"] == 200
print(json.dumps([m for m in heavy if m in sys.modules]))
"""


def test_the_cold_start_loads_no_promql_and_the_first_query_does(lambda_env):
    """numpy, the parser binding and the engine load on the first query, never on a cold start."""
    import os
    import subprocess
    import sys

    from .conftest import EVENTS

    script = COLD.format(event=str(EVENTS / "apigw" / "get_health.json"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    before, after = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("[")]  # not the EMF lines
    assert before == [] and after == ["numpy", "promql_parser", "weir.promql.engine", "weir.promql.source"]
