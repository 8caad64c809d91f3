from __future__ import annotations

import base64
import json
from datetime import datetime
from pathlib import Path

import pytest

from weir.http.gateway import LambdaContext

EVENTS = Path(__file__).resolve().parent.parent / "events"


@pytest.fixture
def lambda_env(aws_env, aws_tables, monkeypatch):
    """The environment infra/ gives a function, over the moto server's tables."""
    from weir import config
    from weir.lambdas import runtime

    monkeypatch.setenv(config.ENV_METRICS_TABLE, aws_tables[0])
    monkeypatch.setenv(config.ENV_SERIES_TABLE, aws_tables[1])
    monkeypatch.setenv(config.ENV_ENVIRONMENT, "test")
    runtime.reset()
    yield aws_tables
    runtime.reset()


@pytest.fixture
def alerts_env(lambda_env, alerts_table, monkeypatch):
    """`lambda_env` plus the alert-configuration table and an SNS topic, as infra/ sets them."""
    import uuid

    import boto3

    from weir import config

    topic = boto3.client("sns").create_topic(Name=f"weir-alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]
    monkeypatch.setenv(config.ENV_ALERT_CONFIG_TABLE, alerts_table)
    monkeypatch.setenv(config.ENV_ALERT_TOPIC_ARN, topic)
    return {"tables": lambda_env, "alerts_table": alerts_table, "topic": topic}


@pytest.fixture
def exporter_env(lambda_env, monkeypatch):
    """`lambda_env` plus a private exports bucket (METRICS_BUCKET)."""
    import uuid

    import boto3

    from weir import config

    bucket = f"weir-exports-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    monkeypatch.setenv(config.ENV_METRICS_BUCKET, bucket)
    return {"tables": lambda_env, "bucket": bucket}


def apigw_event(name: str) -> dict:
    return json.loads((EVENTS / "apigw" / f"{name}.json").read_text())


def scheduled_event() -> dict:
    return json.loads((EVENTS / "eventbridge" / "scheduled.json").read_text())


def api_call(method: str, path: str, body: object | None = None, query: dict | None = None) -> tuple[int, dict]:
    """One request through the `api` handler, as API Gateway would deliver it."""
    from weir.lambdas import api

    ev = apigw_event("post_metrics_batch")
    ev.update(httpMethod=method, path=path, body=json.dumps(body) if body is not None else None,
              queryStringParameters=query, multiValueQueryStringParameters=(
                  {k: [v] for k, v in query.items()} if query else None))
    ev["pathParameters"] = {"proxy": path.lstrip("/")}
    response = api.handler(ev, context())
    text = response.get("body") or "null"
    return response["statusCode"], json.loads(text)


def context() -> LambdaContext:
    return LambdaContext()


def stream_event(dynamodb, table: str) -> dict:
    """Every record of the table's stream so far, as Lambda delivers them to a function."""
    import boto3

    arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = boto3.client("dynamodbstreams")
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        it = it["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            records += page["Records"]
            it = page.get("NextShardIterator") if page["Records"] else None
    return {"Records": [_as_delivered(r, arn) for r in records]}


def _as_delivered(record: dict, arn: str) -> dict:
    """boto3 decodes what Lambda leaves encoded: dates as epoch numbers, binaries as base64."""

    def plain(v):
        if isinstance(v, datetime):
            return v.timestamp()
        if isinstance(v, bytes):
            return base64.b64encode(v).decode()
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v

    return {**plain(record), "eventSourceARN": arn}


@pytest.fixture
def install(monkeypatch):
    """`install(builder, bundle)`: the runtime's cached builder `builder` (`api_services`,
    `stream_store`, `alerts`, `exporter`) answers `bundle` for this test, as if the
    container had built it (with a clock or a client the test controls)."""
    from weir.lambdas import runtime

    def install(builder: str, bundle) -> None:
        runtime.reset()
        monkeypatch.setattr(runtime, builder, lambda: bundle)

    return install
