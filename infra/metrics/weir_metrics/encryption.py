"""The customer-managed KMS key of the stack's messaging: the alert topic and the queues.

Its key policy is the whole story of who may use it:
- the account (IAM policies then decide; without this statement nobody could manage
  the key, and IAM grants to the functions would have no effect: AWS's default statement);
- CloudWatch alarms, which publish to the encrypted topic (DESIGN.md, "Facts that bite");
- SNS, which delivers to the encrypted subscriber queue, only for this stack's topic.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming


@dataclass
class EncryptionArgs:
    environment: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]
    region: pulumi.Input[str]
    tags: pulumi.Input[dict[str, str]]


def key_policy(account_id: str, partition: str, region: str, environment: str) -> dict:
    """Resource `*` in a key policy means this key; the topic's ARN is known from its name."""
    topic_arn = f"arn:{partition}:sns:{region}:{account_id}:{naming.topic_name(environment)}"
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManagesKeyThroughIam",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchAlarmsPublishToEncryptedTopic",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
            {
                "Sid": "AlertTopicDeliversToEncryptedQueues",
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            },
        ],
    }


class Encryption(pulumi.ComponentResource):
    def __init__(self, name: str, args: EncryptionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Encryption", name, None, opts)
        env = args.environment
        policy: pulumi.Output[str] = pulumi.Output.all(args.account_id, args.partition, args.region).apply(
            lambda v: json.dumps(key_policy(v[0], v[1], v[2], env))
        )
        self.key = aws.kms.Key(
            naming.name("messaging-key", env),
            description=f"Weir {env}: alert topic and queues",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=policy,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.alias = aws.kms.Alias(
            naming.name("messaging-key-alias", env),
            name=f"alias/{naming.name('messaging', env)}",
            target_key_id=self.key.key_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.key_arn = self.key.arn
        self.register_outputs({"key_arn": self.key.arn, "alias": self.alias.name})
