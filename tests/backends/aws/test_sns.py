"""The SNS notifier against a moto server, with two SQS subscribers, one filtered."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.backends.test_webhook import event
from weir.backends.aws.sns import SnsNotifier, subject
from weir.errors import DeliveryError


def queue_with_subscription(aws, topic_arn: str, filter_policy: dict | None = None) -> str:
    sqs, sns = aws("sqs"), aws("sns")
    url = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    attrs = {"RawMessageDelivery": "false"}
    if filter_policy is not None:
        attrs["FilterPolicy"] = json.dumps(filter_policy)
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes=attrs)
    return url


def drain(aws, url: str) -> list[dict]:
    sqs, out = aws("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def topic(aws):
    return aws("sns").create_topic(Name=f"weir-alerts-{uuid.uuid4().hex[:8]}")["TopicArn"]


def test_only_critical_alerts_reach_the_filtered_subscriber(aws, topic):
    everything = queue_with_subscription(aws, topic)
    critical_only = queue_with_subscription(aws, topic, {"severity": ["critical"]})
    notifier = SnsNotifier(aws("sns"), topic)
    for i, severity in enumerate(["critical", "warning", "info", "critical"]):
        notifier.send(event(event_id=f"e{i}", severity=severity))
    all_msgs, critical = drain(aws, everything), drain(aws, critical_only)
    assert sorted(json.loads(m["Message"])["event_id"] for m in all_msgs) == ["e0", "e1", "e2", "e3"]
    assert sorted(json.loads(m["Message"])["event_id"] for m in critical) == ["e0", "e3"]
    m = critical[0]
    attrs = {k: (v["Type"], v["Value"]) for k, v in m["MessageAttributes"].items()}
    assert attrs["severity"] == ("String", "critical")
    assert attrs["metric"] == ("String", "cpu")
    assert attrs["rule_id"] == ("String", "r-1")
    assert attrs["state"] == ("String", "ALARM")
    assert attrs["environment"] == ("String", "test")
    assert attrs["value"] == ("Number", "97")
    assert m["Subject"] == "ALARM: cpu high [critical]"


def test_numeric_and_state_policies_filter_on_sns_too(aws, topic):
    high = queue_with_subscription(aws, topic, {"value": [{"numeric": [">=", 95]}], "state": ["ALARM"]})
    not_ok = queue_with_subscription(aws, topic, {"state": [{"anything-but": ["OK"]}]})
    notifier = SnsNotifier(aws("sns"), topic)
    notifier.send(event(event_id="a", value=97.0))
    notifier.send(event(event_id="b", value=90.0))
    notifier.send(event(event_id="c", value=99.0, state="OK", previous_state="ALARM"))
    assert [json.loads(m["Message"])["event_id"] for m in drain(aws, high)] == ["a"]
    assert sorted(json.loads(m["Message"])["event_id"] for m in drain(aws, not_ok)) == ["a", "b"]


def test_publish_errors_become_delivery_errors(aws):
    missing = "arn:aws:sns:eu-west-1:123456789012:no-such-topic"
    with pytest.raises(DeliveryError, match="NotFound"):
        SnsNotifier(aws("sns"), missing).send(event())


def test_subject_is_ascii_and_short():
    text = subject(event(rule_name="ünïcode\nname " + "x" * 200))
    assert text.isascii() and "\n" not in text and len(text) <= 100
