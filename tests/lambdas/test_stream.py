"""The `stream` function on records read from moto's DynamoDB stream: closed hours are
compacted into chunks, and a failure is reported per record (partial batch response)."""

from __future__ import annotations

import json
import time

from botocore.exceptions import ClientError

from .conftest import apigw_event, context, stream_event


def post(metric: str, hours_ago: float, n: int = 5) -> None:
    from weir.lambdas import api

    ts = int(time.time() - hours_ago * 3600) // 3600 * 3600 + 60  # a minute into that hour
    ev = apigw_event("post_metrics_batch")
    ev["body"] = json.dumps(
        {"metrics": [{"name": metric, "value": i, "timestamp": ts + i, "dimensions": {"host": f"h{i % 2}"}}
                     for i in range(n)]}
    )
    response = api.handler(ev, context())
    assert response["statusCode"] == 200, response["body"]


def query(metric: str) -> dict:
    from weir.lambdas import api

    ev = apigw_event("get_query")
    ev["path"] = f"/metrics/{metric}"
    ev["queryStringParameters"] = {"start": "-6h", "period": "60", "stat": "count,sum", "group_by": "host"}
    response = api.handler(ev, context())
    assert response["statusCode"] == 200, response["body"]
    return json.loads(response["body"])


def kinds(dynamodb, table) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in dynamodb.scan(TableName=table)["Items"]:  # the test looks; the code never scans
        kind = item["pk"]["S"].split("#")[0]
        out[kind] = out.get(kind, 0) + 1
    return out


def test_stream_records_compact_closed_hours_and_answers_stay_the_same(lambda_env, dynamodb):
    from weir.lambdas import stream

    post("cpu", hours_ago=3)
    post("cpu", hours_ago=0.01)  # the current hour: stays pending
    post("mem", hours_ago=2.5)
    before = {m: query(m) for m in ("cpu", "mem")}
    event = stream_event(dynamodb, lambda_env[0])
    assert {r["eventName"] for r in event["Records"]} == {"INSERT"}
    assert kinds(dynamodb, lambda_env[0]) == {"seg": 6, "pend": 3}

    assert stream.handler(event, context()) == {"batchItemFailures": []}

    # chunks: 2 series x 2 metrics; minute rollups and hourly records: 8 shards x 2 metric hours
    assert kinds(dynamodb, lambda_env[0]) == {"seg": 6, "pend": 1, "chk": 4, "rup": 16, "hour": 16}
    after = {m: query(m) for m in ("cpu", "mem")}
    assert {m: r["groups"] for m, r in after.items()} == {m: r["groups"] for m, r in before.items()}
    # the compacted hour is now answered from its minute rollups, and the answer says so
    assert all([s["resolution"] for s in r["resolutions"]] == ["raw", "1m", "raw"] for r in after.values())
    again = stream_event(dynamodb, lambda_env[0])  # now with the chunks, and REMOVEs of the marks
    assert {r["eventName"] for r in again["Records"]} == {"INSERT", "REMOVE"}
    assert stream.handler(again, context()) == {"batchItemFailures": []}
    assert kinds(dynamodb, lambda_env[0]) == {"seg": 6, "pend": 1, "chk": 4, "rup": 16, "hour": 16}


def test_a_failing_metric_fails_only_its_records(lambda_env, dynamodb, install):
    from weir.backends.aws.metrics import DynamoMetricStore
    from weir.lambdas import runtime, stream

    post("good", hours_ago=3)
    post("bad", hours_ago=3)
    post("good", hours_ago=3.2)
    event = stream_event(dynamodb, lambda_env[0])

    class BrokenForBad:
        def __getattr__(self, name):
            real = getattr(dynamodb, name)
            if name != "get_item":
                return real

            def get_item(**kwargs):
                if kwargs["Key"]["pk"]["S"] == "pend#bad":
                    raise ClientError({"Error": {"Code": "InternalFailure", "Message": "boom"}}, "GetItem")
                return real(**kwargs)

            return get_item

    store = DynamoMetricStore(BrokenForBad(), metrics_table=lambda_env[0], series_table=lambda_env[1],
                              retention_seconds=30 * 86_400, sleep=lambda s: None)
    install("stream_store", store)
    response = stream.handler(event, context())
    bad = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]
           if r["dynamodb"]["Keys"]["pk"]["S"].startswith("seg#bad#")]
    assert bad and sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == sorted(bad)
    assert kinds(dynamodb, lambda_env[0])["pend"] == 1  # "bad" stays pending: retried by Lambda, nothing lost
    runtime.reset()
    assert query("bad")["groups"]  # still readable from its segments


def test_the_same_batch_delivered_twice_compacts_once(lambda_env, dynamodb):
    """Lambda retries a batch (a timeout after the work was done): nothing is duplicated."""
    from weir.lambdas import stream

    post("cpu", hours_ago=3, n=6)
    segments = kinds(dynamodb, lambda_env[0])["seg"]
    post("cpu", hours_ago=3, n=6)  # the client retried its request too: the same segment items
    assert kinds(dynamodb, lambda_env[0])["seg"] == segments
    before = query("cpu")
    event = stream_event(dynamodb, lambda_env[0])
    for _ in range(2):
        assert stream.handler(event, context()) == {"batchItemFailures": []}
        # one chunk per series; minute rollups and hourly records per shard
        assert kinds(dynamodb, lambda_env[0]) == {"seg": segments, "chk": 2, "rup": 8, "hour": 8}
        assert query("cpu")["groups"] == before["groups"]  # now from the minute rollups
    counts = [p["count"] for g in before["groups"] for p in g["datapoints"]]
    assert sum(counts) == 6
