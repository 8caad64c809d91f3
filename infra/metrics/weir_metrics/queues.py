"""Encrypted SQS queues: the stream's dead-letter queue and the example alert subscriber.

Both use the stack's messaging key, refuse requests without TLS, and keep messages the
maximum 14 days, so a failure found on Monday can still be inspected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming

RETENTION_SECONDS = 14 * 86_400


def queue_policy(queue_arn: str, sns_topic_arn: str | None) -> dict:
    statements: list[dict] = [
        {
            "Sid": "DenyRequestsWithoutTls",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sqs:*",
            "Resource": queue_arn,
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]
    if sns_topic_arn is not None:
        statements.append({
            "Sid": "AlertTopicDeliversHere",
            "Effect": "Allow",
            "Principal": {"Service": "sns.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnEquals": {"aws:SourceArn": sns_topic_arn}},
        })
    return {"Version": "2012-10-17", "Statement": statements}


@dataclass
class EncryptedQueueArgs:
    environment: str
    unit: str  # the name part: "stream-dlq", "alerts-critical"
    key_arn: pulumi.Input[str]
    tags: pulumi.Input[dict[str, str]]
    sns_topic_arn: pulumi.Input[str] | None = None  # a topic allowed to deliver here


class EncryptedQueue(pulumi.ComponentResource):
    def __init__(self, name: str, args: EncryptedQueueArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}EncryptedQueue", name, None, opts)
        self.queue = aws.sqs.Queue(
            naming.name(args.unit, args.environment),
            kms_master_key_id=args.key_arn,
            kms_data_key_reuse_period_seconds=300,
            message_retention_seconds=RETENTION_SECONDS,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        topic = args.sns_topic_arn
        self.policy = aws.sqs.QueuePolicy(
            naming.name(f"{args.unit}-policy", args.environment),
            queue_url=self.queue.url,
            policy=pulumi.Output.all(self.queue.arn, topic).apply(
                lambda v: json.dumps(queue_policy(v[0], v[1] if topic is not None else None))
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"queue_arn": self.queue.arn, "queue_url": self.queue.url})
