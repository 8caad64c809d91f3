"""The alert topic (SNS, customer-managed KMS key) and example filtered subscriptions.

Weir publishes every alert event with message attributes (`severity`, `metric`,
`rule_id`, `state`, ... see `weir.backends.aws.sns`), so subscribers choose what they
get with a filter policy instead of separate topics. Examples deployed here:
- an SQS queue receiving critical alerts only (always: it needs no confirmation);
- with `alertEmail` set, an email address receiving critical alerts that enter ALARM;
- with `opsEmail` set, an email address receiving everything, including the
  CloudWatch alarms on the stack itself (they carry no attributes, so no filter).
The topic's name is fixed (`weir-alerts-<env>`) because the key policy names its ARN.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming
from weir_metrics.queues import EncryptedQueue, EncryptedQueueArgs

CRITICAL_ONLY = {"severity": ["critical"]}
CRITICAL_ALARMS = {"severity": ["critical"], "state": ["ALARM"]}


@dataclass
class AlertTopicArgs:
    environment: str
    key_arn: pulumi.Input[str]
    tags: pulumi.Input[dict[str, str]]
    alert_email: pulumi.Input[str] | None = None
    ops_email: pulumi.Input[str] | None = None


class AlertTopic(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlertTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}AlertTopic", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        self.topic = aws.sns.Topic(
            naming.name("alerts", env),
            name=naming.topic_name(env),
            display_name=f"Weir alerts ({env})",
            kms_master_key_id=args.key_arn,
            tags=args.tags,
            opts=child,
        )
        self.critical_queue = EncryptedQueue(
            naming.name("alerts-critical-queue", env),
            EncryptedQueueArgs(environment=env, unit="alerts-critical", key_arn=args.key_arn, tags=args.tags,
                               sns_topic_arn=self.topic.arn),
            opts=child,
        )
        self.subscriptions: dict[str, aws.sns.TopicSubscription] = {
            "critical-queue": aws.sns.TopicSubscription(
                naming.name("alerts-critical-queue-subscription", env),
                topic=self.topic.arn,
                protocol="sqs",
                endpoint=self.critical_queue.queue.arn,
                raw_message_delivery=True,
                filter_policy_scope="MessageAttributes",
                filter_policy=json.dumps(CRITICAL_ONLY),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.critical_queue]),
            )
        }
        if args.alert_email:
            self.subscriptions["alert-email"] = aws.sns.TopicSubscription(
                naming.name("alerts-email-subscription", env),
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.alert_email,
                filter_policy_scope="MessageAttributes",
                filter_policy=json.dumps(CRITICAL_ALARMS),
                opts=child,
            )
        if args.ops_email:
            self.subscriptions["ops-email"] = aws.sns.TopicSubscription(
                naming.name("ops-email-subscription", env),
                topic=self.topic.arn,
                protocol="email",
                endpoint=args.ops_email,
                opts=child,
            )
        self.topic_arn = self.topic.arn
        self.register_outputs({
            "topic_arn": self.topic.arn,
            "critical_queue_url": self.critical_queue.queue.url,
            "subscriptions": {k: s.arn for k, s in self.subscriptions.items()},
        })
