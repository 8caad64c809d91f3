"""End to end on moto: API Gateway event → `api` handler → DynamoDB; the table's stream
records → `stream` handler → rollup items; the same query is then answered from rollups,
with the same numbers as from the raw points before."""

from __future__ import annotations

import json
import time

from .conftest import apigw_event, context, stream_event

HOSTS = 4
STEP = 30  # seconds between points


def test_stream_writes_rollups_and_queries_answer_from_them_with_the_raw_numbers(lambda_env, dynamodb):
    from weir.backends.aws import key_schema as keys
    from weir.lambdas import api, runtime, stream

    h0 = (int(time.time()) // 3600 - 6) * 3600  # an hour start six hours ago: hours long closed
    points = [{"name": "cpu", "value": (t // STEP) % 50 + h, "timestamp": t, "dimensions": {"host": f"h{h}"}}
              for t in range(h0, h0 + 3 * 3600, STEP) for h in range(HOSTS)]
    ev = apigw_event("post_metrics_batch")
    ev["body"] = json.dumps({"metrics": points})
    response = api.handler(ev, context())
    assert response["statusCode"] == 200 and json.loads(response["body"])["accepted"] == len(points)

    def query(params: dict) -> dict:
        ev = apigw_event("get_query")
        ev["path"] = "/metrics/cpu"
        ev["queryStringParameters"] = {"start": str(h0 + 1800), "end": str(h0 + 3 * 3600), **params}
        response = api.handler(ev, context())
        assert response["statusCode"] == 200, response["body"]
        return json.loads(response["body"])

    cases = [{"period": "60", "stat": "count,sum,avg,min,max"},
             {"period": "3600", "stat": "avg,max", "group_by": "host"},
             {"period": "300", "stat": "count,min", "dim.host": "h2"}]
    raw = [query(c) for c in cases]
    counts = runtime.api_services().query.read_counts
    assert counts["rollup_queries"] == 0 and counts["raw_points"] > 0  # every hour still pending

    result = stream.handler(stream_event(dynamodb, lambda_env[0]), context())
    assert result == {"batchItemFailures": []}
    for shard in range(keys.SHARDS):
        got = dynamodb.query(TableName=lambda_env[0], KeyConditionExpression="pk = :p",
                             ExpressionAttributeValues={":p": {"S": keys.rollup_pk("cpu", shard)}})["Items"]
        assert sorted(int(i["timestamp"]["N"]) for i in got) == [(h0 + k * 3600) * 10**9 for k in range(3)]

    before = dict(counts)
    rolled = [query(c) for c in cases]
    assert [r["groups"] for r in rolled] == [r["groups"] for r in raw]
    assert {r["resolution"] for r in raw[0]["resolutions"]} == {"raw"}
    assert {r["resolution"] for r in rolled[0]["resolutions"]} == {"1m", "raw"}  # the first half hour raw
    assert counts["rollup_queries"] - before["rollup_queries"] == 3
    # Whole hours from rollups, the first half hour from points; the 1h query's start is
    # rounded down to h0, so it reads all three hours from rollups.
    per_hour = 3600 // STEP
    assert counts["rollup_points"] - before["rollup_points"] == per_hour * (2 * HOSTS + 3 * HOSTS + 2 * 1)
    assert counts["raw_points"] - before["raw_points"] == per_hour // 2 * (HOSTS + 0 + 1)
    assert raw[0]["groups"][0]["datapoints"][0]["count"] == HOSTS * 60 // STEP


def test_a_late_write_is_read_raw_until_the_stream_rewrites_its_hours_rollups(lambda_env, dynamodb):
    from weir.lambdas import api, runtime, stream

    h1 = (int(time.time()) // 3600 - 4) * 3600  # a closed hour

    def post(points):
        ev = apigw_event("post_metrics_batch")
        ev["body"] = json.dumps({"metrics": [{"name": "mem", "value": v, "timestamp": t, "dimensions": {"host": "a"}}
                                             for t, v in points]})
        assert api.handler(ev, context())["statusCode"] == 200

    def minute():
        ev = apigw_event("get_query")
        ev["path"] = "/metrics/mem"
        ev["queryStringParameters"] = {"start": str(h1), "end": str(h1 + 3600), "period": "60", "stat": "count,max"}
        response = api.handler(ev, context())
        assert response["statusCode"] == 200, response["body"]
        points = json.loads(response["body"])["groups"][0]["datapoints"]
        return [(p["count"], p["max"]) for p in points[:1]]

    post([(h1 + 0, 1), (h1 + 30, 2)])
    assert stream.handler(stream_event(dynamodb, lambda_env[0]), context()) == {"batchItemFailures": []}
    counts = runtime.api_services().query.read_counts
    assert minute() == [(2, 2.0)] and counts["rollup_queries"] == 1

    post([(h1 + 5, 1000), (h1 + 30, 3)])  # late: one new point, one replaced
    assert minute() == [(3, 1000.0)]  # the hour is pending again: from its segments and chunks
    assert counts["rollup_queries"] == 1
    assert stream.handler(stream_event(dynamodb, lambda_env[0]), context()) == {"batchItemFailures": []}
    assert minute() == [(3, 1000.0)]  # from the rewritten rollups
    assert counts["rollup_queries"] == 2
