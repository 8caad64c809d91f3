"""The `alerts` function end to end on the moto server: a rule created through the `api`
handler, points ingested through it, the scheduled pass → SNS → two SQS subscribers (one
filtered on severity); and what happens when SNS fails or an event is delivered twice."""

from __future__ import annotations

import json
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import FakeClock

from .conftest import api_call, apigw_event, context, scheduled_event


def queue(topic: str, filter_policy: dict | None = None) -> str:
    sqs, sns = boto3.client("sqs"), boto3.client("sns")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attrs = {"FilterPolicy": json.dumps(filter_policy)} if filter_policy else {}
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attrs)
    return url


def drain(url: str) -> list[dict]:
    sqs, out = boto3.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0,
                                  MessageAttributeNames=["All"]).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def create_rule(**overrides) -> dict:
    from weir.lambdas import api

    ev = apigw_event("post_alerts")
    body = {**json.loads(ev["body"]), **overrides}
    ev["body"] = json.dumps(body)
    response = api.handler(ev, context())
    assert response["statusCode"] == 201, response["body"]
    return json.loads(response["body"])


def ingest(points: list[tuple[str, float]], at: float | None = None) -> None:
    at = time.time() if at is None else at
    status, body = api_call("POST", "/metrics", {"metrics": [
        {"name": "cpu", "value": v, "timestamp": at, "dimensions": {"host": h}} for h, v in points]})
    assert status == 200 and body["accepted"] == len(points), body


def run_alerts() -> dict:
    from weir.lambdas import alerts

    return alerts.handler(scheduled_event(), context())


def test_rule_from_the_api_alarm_reaches_both_subscribers_and_the_filter_holds(alerts_env):
    everything = queue(alerts_env["topic"])
    critical_only = queue(alerts_env["topic"], {"severity": ["critical"]})
    rule = create_rule()  # the recorded event: "cpu high", max > 90 per host, critical
    create_rule(name="cpu warm", threshold=70, severity="warning", group_by=None)
    assert rule["states"] == [] and rule["severity"] == "critical"
    ingest([("web-1", 97.0), ("web-2", 75.0)])
    assert api_call("GET", "/alerts/events") == (200, {"events": []})  # the api function never evaluates
    result = run_alerts()
    assert result["events"] == 3 and result["sent"] == 3 * 2 and result["failed"] == 0  # log + sns each

    everyone = [json.loads(m["Message"]) for m in drain(everything)]
    critical = drain(critical_only)
    assert sorted((e["rule_name"], e["state"], e["group"].get("host")) for e in everyone) == [
        ("cpu high", "ALARM", "web-1"), ("cpu high", "OK", "web-2"), ("cpu warm", "ALARM", None)]
    assert sorted((json.loads(m["Message"])["state"], json.loads(m["Message"])["rule_name"]) for m in critical) == [
        ("ALARM", "cpu high"), ("OK", "cpu high")]  # the warning rule's alarm was filtered out
    [m] = [m for m in critical if json.loads(m["Message"])["state"] == "ALARM"]
    event = json.loads(m["Message"])
    assert (event["group"], event["value"], event["environment"]) == ({"host": "web-1"}, 97.0, "test")
    assert m["MessageAttributes"]["severity"] == {"Type": "String", "Value": "critical"}
    assert m["Subject"] == "ALARM: cpu high [critical]"

    status, body = api_call("GET", f"/alerts/{rule['id']}")  # the api function sees the stored states
    assert status == 200
    assert {(s["group"]["host"], s["state"]) for s in body["states"]} == {("web-1", "ALARM"), ("web-2", "OK")}
    status, body = api_call("GET", "/alerts/events")
    assert all(d["status"] == "delivered" for e in body["events"] for d in e["deliveries"])

    again = run_alerts()  # the next minute, nothing new: nothing sent
    assert again["events"] == 0 and again["sent"] == 0
    assert drain(everything) == [] and drain(critical_only) == []


class FailingPublish:
    """The real SNS client, whose `publish` fails while `failing` (the only mock here)."""

    def __init__(self, client) -> None:
        self._client = client
        self.failing = True
        self.calls = 0

    def __getattr__(self, name):
        return getattr(self._client, name)

    def publish(self, **kwargs):
        self.calls += 1
        if self.failing:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "SNS is down"}}, "Publish")
        return self._client.publish(**kwargs)


def test_a_failed_publish_loses_neither_points_nor_notification(alerts_env, install):
    from weir import config
    from weir.wiring.alerts import build_alerts
    from weir.wiring.aws import AwsClients

    subscriber = queue(alerts_env["topic"])
    clock = FakeClock()
    sns = FailingPublish(boto3.client("sns"))
    install("alerts", build_alerts(config.Settings.for_lambda(__import__("os").environ, "alerts"), clock=clock,
                                   clients=AwsClients(sns=sns)))
    create_rule()
    # At the alerts function's (frozen) now: a point stamped by the wall clock lands in the
    # next period when a minute turns after FakeClock() was read, and that period is not yet
    # evaluated -- no event at all.
    ingest([("web-1", 99.0)], at=clock.t)
    first = run_alerts()
    assert (first["events"], first["sent"], first["failed"]) == (1, 1, 1)  # the log line went, SNS did not
    assert drain(subscriber) == []
    status, body = api_call("GET", "/alerts/events")
    [event] = body["events"]
    sns_delivery = next(d for d in event["deliveries"] if d["target"] == "sns")
    assert sns_delivery["status"] == "pending" and sns_delivery["attempts"] == 1
    assert "SNS is down" in sns_delivery["last_error"] and sns_delivery["next_attempt"]
    status, body = api_call("GET", "/metrics/cpu", query={"start": "-10m", "period": "60", "stat": "max"})
    assert status == 200 and [p["max"] for g in body["groups"] for p in g["datapoints"]] == [99.0]

    clock.t += 30  # the next run, before the retry is due: nothing is sent
    assert run_alerts()["sent"] == 0 and sns.calls == 1
    sns.failing = False
    clock.t += 31  # past the first backoff (60 s)
    assert run_alerts()["sent"] == 1
    [m] = drain(subscriber)
    assert json.loads(m["Message"])["event_id"] == event["event"]["event_id"]
    clock.t += 3600  # an hour later the data is missing: a new transition, and the first never again
    run_alerts()
    later = [json.loads(m["Message"]) for m in drain(subscriber)]
    assert [(e["previous_state"], e["state"]) for e in later] == [("ALARM", "INSUFFICIENT_DATA")]
    assert later[0]["event_id"] != event["event"]["event_id"]


def test_the_same_requests_and_schedule_delivered_twice_change_nothing_twice(alerts_env):
    from weir.lambdas import api

    subscriber = queue(alerts_env["topic"])
    ev = apigw_event("post_alerts")
    first, second = (api.handler(ev, context()) for _ in range(2))  # API Gateway / client retry
    assert first["statusCode"] == 201
    assert second["statusCode"] == 409 and "already called 'cpu high'" in json.loads(second["body"])["message"]
    status, body = api_call("GET", "/alerts")
    assert [r["name"] for r in body["alerts"]] == ["cpu high"]

    post = apigw_event("post_metrics_batch")
    post["body"] = json.dumps({"metrics": [{"name": "cpu", "value": 95.0, "timestamp": time.time(),
                                            "dimensions": {"host": "web-9"}}]})
    for _ in range(2):
        assert json.loads(api.handler(post, context())["body"])["accepted"] == 1
    status, body = api_call("GET", "/metrics/cpu", query={"start": "-10m", "period": "600", "stat": "count"})
    assert [p["count"] for g in body["groups"] for p in g["datapoints"]] == [1]  # the point landed once

    from weir.lambdas import alerts

    schedule = scheduled_event()
    results = [alerts.handler(schedule, context()) for _ in range(2)]  # EventBridge delivers at least once
    assert [r["events"] for r in results] == [1, 0]
    assert len(drain(subscriber)) == 1


def test_the_alerts_function_needs_its_table(lambda_env, monkeypatch):
    from weir import config
    from weir.lambdas import runtime

    monkeypatch.delenv(config.ENV_ALERT_CONFIG_TABLE, raising=False)
    runtime.reset()
    with pytest.raises(config.MissingSettingError, match="ALERT_CONFIG_TABLE not set"):
        run_alerts()


def allow_webhooks(monkeypatch, value: str | None) -> None:
    """WEIR_WEBHOOK_ALLOW as infra/ would set it, read by the next cold start."""
    from weir import config
    from weir.lambdas import runtime

    if value is None:
        monkeypatch.delenv(config.ENV_WEBHOOK_ALLOW, raising=False)
    else:
        monkeypatch.setenv(config.ENV_WEBHOOK_ALLOW, value)
    runtime.reset()


def test_a_webhook_subscribed_through_the_api_is_routed_by_a_warm_alerts_function(alerts_env, monkeypatch):
    allow_webhooks(monkeypatch, "127.0.0.1")  # the port-9 receiver below is on loopback: allowed explicitly
    create_rule()
    ingest([("web-0", 10.0)])
    assert run_alerts()["events"] == 1  # web-0 is OK; the warm container has routed with no subscriptions
    status, sub = api_call("POST", "/subscriptions", {"url": "http://127.0.0.1:9/hook",
                                                     "filter_policy": {"severity": ["critical"]}, "timeout": 1})
    assert status == 201
    ingest([("web-1", 99.0)])
    result = run_alerts()
    assert result["events"] == 1 and result["failed"] == 1  # nothing listens on port 9: retried later
    status, body = api_call("GET", "/alerts/events")
    event = body["events"][0]
    hook = next(d for d in event["deliveries"] if d["target"] == f"webhook:{sub['id']}")
    assert hook["status"] == "pending" and hook["attempts"] == 1 and hook["last_error"]
    status, got = api_call("GET", f"/subscriptions/{sub['id']}")
    assert got["last_delivery"]["status"] == "pending"


def test_the_api_function_refuses_private_and_metadata_webhooks(alerts_env, monkeypatch):
    """In AWS a webhook leaves from AWS: loopback and private addresses are refused unless
    WEIR_WEBHOOK_ALLOW lists them; link-local and metadata addresses always are."""
    status, body = api_call("POST", "/subscriptions", {"url": "http://127.0.0.1:9/hook"})
    assert status == 400, body
    assert "127.0.0.1 is in 127.0.0.0/8: loopback" in body["message"] and "WEIR_WEBHOOK_ALLOW" in body["message"]
    allow_webhooks(monkeypatch, "private")
    assert api_call("POST", "/subscriptions", {"url": "http://10.1.2.3/hook"})[0] == 201
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://0xa9fea9fe/"):
        status, body = api_call("POST", "/subscriptions", {"url": url})
        assert status == 400 and "webhooks never go there" in body["message"], (url, body)


def test_a_webhook_the_policy_now_refuses_fails_at_once_and_is_not_retried(alerts_env, monkeypatch):
    allow_webhooks(monkeypatch, "127.0.0.0/8")
    status, sub = api_call("POST", "/subscriptions", {"url": "http://127.0.0.1:9/hook"})
    assert status == 201, sub
    allow_webhooks(monkeypatch, None)  # redeployed without the allowance: the stored URL is now refused
    create_rule()
    ingest([("web-1", 99.0)])
    assert run_alerts()["failed"] == 1
    assert run_alerts()["failed"] == 0  # not retried: a refusal is permanent
    [event] = api_call("GET", "/alerts/events")[1]["events"]
    hook = next(d for d in event["deliveries"] if d["target"] == f"webhook:{sub['id']}")
    assert hook["status"] == "failed" and hook["attempts"] == 1 and hook["next_attempt"] is None
    assert "destination policy refuses it" in hook["last_error"] and "WEIR_WEBHOOK_ALLOW" in hook["last_error"]
