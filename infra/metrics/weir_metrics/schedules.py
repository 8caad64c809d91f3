"""EventBridge schedules that invoke a function: the exporter hourly, the alert evaluator
every minute, each with the Lambda permission that lets only its own rule invoke it.

The expressions come from `weir.config.SCHEDULES`, the code's own statement of when its
functions expect to run (the exporter ten minutes past each hour: the hour just closed
plus a grace for late points), so the stack and the runtime cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir.config import SCHEDULES
from weir_metrics import TYPE_PREFIX, naming

EXPORT_SCHEDULE = SCHEDULES["exporter"]
ALERTS_SCHEDULE = SCHEDULES["alerts"]


@dataclass
class ScheduleArgs:
    environment: str
    unit: str  # "exporter-schedule"
    schedule_expression: pulumi.Input[str]
    function_arn: pulumi.Input[str]
    function_name: pulumi.Input[str]
    description: str
    tags: pulumi.Input[dict[str, str]]
    # An event older than this is dropped rather than retried: a later run covers it.
    maximum_event_age_seconds: pulumi.Input[int] = 3600
    maximum_retry_attempts: pulumi.Input[int] = 2


class Schedule(pulumi.ComponentResource):
    def __init__(self, name: str, args: ScheduleArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Schedule", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        self.rule = aws.cloudwatch.EventRule(
            naming.name(args.unit, env),
            description=args.description,
            schedule_expression=args.schedule_expression,
            state="ENABLED",
            tags=args.tags,
            opts=child,
        )
        self.permission = aws.lambda_.Permission(
            naming.name(f"{args.unit}-invoke", env),
            action="lambda:InvokeFunction",
            function=args.function_name,
            principal="events.amazonaws.com",
            source_arn=self.rule.arn,
            opts=child,
        )
        self.target = aws.cloudwatch.EventTarget(
            naming.name(f"{args.unit}-target", env),
            rule=self.rule.name,
            arn=args.function_arn,
            retry_policy={
                "maximum_event_age_in_seconds": args.maximum_event_age_seconds,
                "maximum_retry_attempts": args.maximum_retry_attempts,
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.permission]),
        )
        self.register_outputs({"rule_arn": self.rule.arn, "schedule": self.rule.schedule_expression})
