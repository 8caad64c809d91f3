"""The `api` function end to end: API Gateway proxy events → handler → DynamoDB on moto →
queried back through the same handler."""

from __future__ import annotations

import json

import pytest

from .conftest import apigw_event, context


def invoke(name_or_event):
    from weir.lambdas import api

    event = apigw_event(name_or_event) if isinstance(name_or_event, str) else name_or_event
    response = api.handler(event, context())
    assert response["multiValueHeaders"]["Content-Type"] == ["application/json"]  # REST proxy format
    return response["statusCode"], json.loads(response["body"])


def test_ingest_then_query_back_through_the_handler(lambda_env, dynamodb):
    status, body = invoke("get_health")
    assert status == 200 and body["status"] == "ok" and body["backend"] == "dynamodb"

    status, body = invoke("post_metrics_batch")
    assert status == 200
    assert body["accepted"] == 3 and [r["index"] for r in body["rejected"]] == [3]
    assert "value" in body["rejected"][0]["error"]
    segments = dynamodb.scan(TableName=lambda_env[0])["Items"]  # the test looks; the code never scans
    assert {i["pk"]["S"].split("#")[0] for i in segments} == {"seg", "pend"}

    status, body = invoke("get_metrics")
    assert (status, body) == (200, {"metrics": [{"name": "cpu", "series": 3}]})

    status, body = invoke("get_series")
    assert status == 200
    assert [s["dimensions"]["host"] for s in body["series"]] == ["web-1", "web-2", "web-3"]
    assert {s["unit"] for s in body["series"]} == {"Percent"}

    status, body = invoke("get_query")
    assert status == 200 and body["stats"] == ["count", "sum", "max"]
    got = {g["group"]["host"]: [(p["count"], p["max"]) for p in g["datapoints"]] for g in body["groups"]}
    assert got == {"web-1": [(1, 41.5)], "web-2": [(1, 63.0)], "web-3": [(1, 12.25)]}


def test_the_seed_shape_single_datapoint(lambda_env):
    status, body = invoke("post_metrics_seed_shape")
    assert (status, body) == (200, {"accepted": 1, "rejected": []})
    ev = apigw_event("get_series")
    ev["path"] = "/metrics/orders/series"
    ev["queryStringParameters"] = ev["multiValueQueryStringParameters"] = None
    status, body = invoke(ev)
    assert status == 200 and body["series"][0]["type"] == "counter"


@pytest.mark.parametrize(
    "name, status, code",
    [
        ("post_metrics_bad_json", 400, "invalid_input"),
        ("post_metrics_wrong_type", 415, "unsupported_media_type"),
        ("get_unknown_metric", 404, "not_found"),
        ("get_no_route", 404, "not_found"),
    ],
)
def test_bad_requests_get_json_errors(lambda_env, name, status, code):
    got_status, body = invoke(name)
    assert got_status == status and body["error"] == code and body["message"]


def test_a_storage_failure_is_a_503_and_nothing_is_lost(lambda_env, dynamodb, install):
    """Throttled past every retry: 503 with JSON; the client's retry lands once."""
    from tests.backends.aws.faults import FlakyClient
    from weir.backends.aws.metrics import DynamoMetricStore
    from weir.http.services import ApiServices
    from weir.metrics.ingest import IngestService
    from weir.metrics.query.service import QueryService

    flaky = FlakyClient(dynamodb, throttle={"batch_write_item": 8})
    store = DynamoMetricStore(flaky, metrics_table=lambda_env[0], series_table=lambda_env[1],
                              retention_seconds=30 * 86_400, sleep=lambda s: None)
    install("api_services", ApiServices(store, IngestService(store), QueryService(store)))
    status, body = invoke("post_metrics_batch")
    assert status == 503 and body["error"] == "storage_error" and "retry" in body["message"]
    status, body = invoke("post_metrics_batch")  # the retry, with DynamoDB recovered
    assert status == 200 and body["accepted"] == 3
    status, body = invoke("get_query")
    assert sorted(g["datapoints"][0]["count"] for g in body["groups"]) == [1, 1, 1]


def test_the_handler_logs_json_with_the_correlation_id_and_emits_emf(lambda_env, capsys, monkeypatch):
    import sys

    from weir.lambdas import api

    # the Logger bound the stdout of whichever test imported the module first
    monkeypatch.setattr(api.logger.registered_handler, "stream", sys.stdout)
    invoke("post_metrics_batch")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    [log] = [x for x in lines if x.get("message") == "request"]
    assert log["correlation_id"] == "5e8f3b1a-2c4d-4e6f-8a9b-0c1d2e3f4a5b"
    assert log["service"] == "weir-api" and log["status"] == 200 and log["level"] == "INFO"
    [emf] = [x for x in lines if "_aws" in x]
    [directive] = emf["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "Weir"
    assert sorted(directive["Dimensions"][0]) == ["environment", "service"] and emf["environment"] == "test"
    assert emf["DatapointsAccepted"] == [3.0] and emf["Requests"] == [1.0]


def test_missing_table_settings_fail_with_the_variable_named(aws_env, monkeypatch):
    from weir import config
    from weir.lambdas import runtime

    monkeypatch.delenv(config.ENV_METRICS_TABLE, raising=False)
    monkeypatch.setenv(config.ENV_SERIES_TABLE, "x")
    runtime.reset()
    with pytest.raises(config.MissingSettingError, match="METRICS_TABLE not set"):
        invoke("get_health")
    runtime.reset()


def test_pushgateway_groups_are_kept_in_dynamodb(lambda_env):
    """PUT/POST/DELETE of a Pushgateway group through the api function (membership in the series table)."""
    import json as _json

    from weir.lambdas import api

    def push(method: str, path: str, text: str | None = None) -> tuple[int, dict]:
        ev = apigw_event("post_metrics_batch")
        ev.update(httpMethod=method, path=path, body=text)
        ev["headers"] = {**ev["headers"], "Content-Type": "text/plain; version=0.0.4"}
        ev["multiValueHeaders"] = {**ev["multiValueHeaders"], "Content-Type": ["text/plain; version=0.0.4"]}
        r = api.handler(ev, context())
        return r["statusCode"], _json.loads(r["body"])

    text = "# TYPE jobs_total counter\njobs_total{queue=\"a\"} 3\njobs_total{queue=\"b\"} 4\nlast_run 1.5\n"
    assert push("PUT", "/metrics/job/backup/instance/db1", text)[0] == 200
    assert push("POST", "/metrics/job/backup/instance/db1", "last_run 2.5\nlast_size 10\n")[0] == 200
    [group] = _json.loads(api.handler({**apigw_event("get_metrics"), "path": "/pushgateway/groups"},
                                      context())["body"])["groups"]
    assert group["labels"] == {"instance": "db1", "job": "backup"} and group["method"] == "POST"
    assert sorted(group["metrics"]) == ["jobs_total", "last_run", "last_size"]
    assert len(group["metrics"]["jobs_total"]) == 2
    assert push("DELETE", "/metrics/job/backup/instance/db1") == (202, {"deleted": True})
    empty = api.handler({**apigw_event("get_metrics"), "path": "/pushgateway/groups"}, context())
    assert _json.loads(empty["body"]) == {"groups": []}


@pytest.mark.parametrize("failing", ["pg_after", "push_time_seconds"])
def test_a_failed_push_changes_no_membership_and_the_retry_lands(lambda_env, dynamodb, failing, install):
    """DynamoDB refuses the samples' write, or the `push_time_seconds` write after them
    (throttled past every retry): 503, the group still holds the previous push; the
    client's retry lands, points and membership."""
    import json as _json

    from tests.backends.aws.faults import FlakyClient
    from weir.backends.aws.metrics import DynamoMetricStore
    from weir.backends.aws.pushgroups import DynamoPushGroupStore
    from weir.http.services import ApiServices
    from weir.lambdas import api
    from weir.metrics.ingest import IngestService
    from weir.metrics.query.service import QueryService

    refusing = [False]
    flaky = FlakyClient(dynamodb, fail=lambda op, kw: refusing[0] and op == "batch_write_item" and failing in repr(kw))
    store = DynamoMetricStore(flaky, metrics_table=lambda_env[0], series_table=lambda_env[1],
                              retention_seconds=30 * 86_400, sleep=lambda s: None)
    install("api_services", ApiServices(store, IngestService(store), QueryService(store),
                                        push_groups=DynamoPushGroupStore(dynamodb, lambda_env[1])))

    def push(text: str) -> tuple[int, dict]:
        ev = apigw_event("post_metrics_batch")
        ev.update(httpMethod="PUT", path="/metrics/job/flaky", body=text)
        ev["pathParameters"] = {"proxy": "metrics/job/flaky"}
        r = api.handler(ev, context())
        return r["statusCode"], _json.loads(r["body"])

    def groups() -> list:
        return _json.loads(api.handler({**apigw_event("get_metrics"), "path": "/pushgateway/groups"},
                                       context())["body"])["groups"]

    assert push("pg_before 1\n")[0] == 200
    before = groups()
    assert [set(g["metrics"]) for g in before] == [{"pg_before"}]

    refusing[0] = True
    status, body = push("pg_after 2\n")
    assert status == 503 and body["error"] == "storage_error", body
    assert groups() == before, "membership changed although the push was not stored"

    refusing[0] = False
    status, body = push("pg_after 2\n")
    assert status == 200 and body["accepted"] == 1, body
    [after] = groups()
    assert after["metrics"] == {"pg_after": ['pg_after{job="flaky"}']}
    status, body = invoke_query("pg_after")
    assert status == 200 and [p["max"] for g in body["groups"] for p in g["datapoints"]][-1] == 2.0


def invoke_query(name: str) -> tuple[int, dict]:
    from weir.lambdas import api

    ev = apigw_event("get_query")
    ev.update(path=f"/metrics/{name}", queryStringParameters={"start": "-1h", "period": "1h", "stat": "max"},
              multiValueQueryStringParameters={"start": ["-1h"], "period": ["1h"], "stat": ["max"]})
    ev["pathParameters"] = {"proxy": f"metrics/{name}"}
    r = api.handler(ev, context())
    return r["statusCode"], json.loads(r["body"])


def test_an_encoded_path_is_read_as_weir_serve_reads_it(lambda_env):
    """API Gateway REST delivers the path as sent; `:` encoded by a client (`%3A`, as
    `urllib.parse.quote` does) still names the metric `job:rate`, as it does locally."""
    from .conftest import api_call

    assert api_call("POST", "/metrics", {"metrics": [{"name": "job:rate", "value": 1.0}]})[0] == 200
    status, body = api_call("GET", "/metrics/job%3Arate/series")
    assert status == 200 and [s["key"] for s in body["series"]] == ["job:rate"], body


def test_the_web_ui_through_the_handler_on_a_stage(lambda_env, built_ui):
    """API Gateway delivers /prod/ui/explore as path /ui/explore with the stage in requestContext.path."""
    import base64
    import gzip

    from weir.lambdas import api

    dist, why = built_ui
    if dist is None:
        pytest.skip(why)
    ev = apigw_event("get_metrics")
    ev.update(path="/ui/explore", resource="/ui/{proxy+}", pathParameters={"proxy": "explore"})
    ev["headers"] = {**ev["headers"], "Accept": "text/html", "Accept-Encoding": "gzip, deflate, br"}
    ev["requestContext"] = {**ev["requestContext"], "path": "/prod/ui/explore"}
    out = api.handler(ev, context())
    headers = {k.lower(): v[0] for k, v in out["multiValueHeaders"].items()}
    assert out["statusCode"] == 200 and out["isBase64Encoded"] is True and headers["content-encoding"] == "gzip"
    assert gzip.decompress(base64.b64decode(out["body"])) == (dist / "index.html").read_bytes()
    root = {**ev, "path": "/", "resource": "/", "pathParameters": None,
            "requestContext": {**ev["requestContext"], "path": "/prod/"}}
    out = api.handler(root, context())
    assert out["statusCode"] == 302 and out["multiValueHeaders"]["Location"] == ["/prod/ui/"]
