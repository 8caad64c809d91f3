"""CloudWatch alarms on the stack's own health, notifying the alert topic.

Per function: `Errors` and `Throttles` (any in five minutes). On the stream function:
`IteratorAge` (the oldest record it has yet to process; compaction falling behind).
On the dead-letter queue: any message (a stream batch given up on).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming

PERIOD_SECONDS = 300
ITERATOR_AGE_MS = 15 * 60 * 1000  # a quarter of an hour behind the table's writes


@dataclass
class AlarmsArgs:
    environment: str
    topic_arn: pulumi.Input[str]
    function_names: dict[str, pulumi.Input[str]]  # api -> weir-api-<env>
    tags: pulumi.Input[dict[str, str]]
    stream_function: str = "stream"
    dead_letter_queue_name: pulumi.Input[str] | None = None
    function_metrics: tuple[str, ...] = field(default=("Errors", "Throttles"))


class Alarms(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Alarms", name, None, opts)
        self.args = args
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        for fn, function_name in args.function_names.items():
            for metric in args.function_metrics:
                self._alarm(f"{fn}-{metric.lower()}", f"Weir {fn} function: {metric} in the last 5 minutes",
                            namespace="AWS/Lambda", metric_name=metric, statistic="Sum", threshold=1,
                            dimensions={"FunctionName": function_name})
        self._alarm("stream-iterator-age", "Weir stream function: compaction is more than 15 minutes behind",
                    namespace="AWS/Lambda", metric_name="IteratorAge", statistic="Maximum",
                    threshold=ITERATOR_AGE_MS, dimensions={"FunctionName": args.function_names[args.stream_function]})
        if args.dead_letter_queue_name is not None:
            self._alarm("stream-dlq-messages", "Weir stream function gave up on a batch: see the dead-letter queue",
                        namespace="AWS/SQS", metric_name="ApproximateNumberOfMessagesVisible", statistic="Maximum",
                        threshold=1, dimensions={"QueueName": args.dead_letter_queue_name})
        self.register_outputs({"alarms": {k: a.arn for k, a in self.alarms.items()}})

    def _alarm(self, unit: str, description: str, **metric) -> None:
        self.alarms[unit] = aws.cloudwatch.MetricAlarm(
            naming.name(f"{unit}-alarm", self.args.environment),
            alarm_description=description,
            comparison_operator="GreaterThanOrEqualToThreshold",
            evaluation_periods=1,
            period=PERIOD_SECONDS,
            treat_missing_data="notBreaching",
            alarm_actions=[self.args.topic_arn],
            ok_actions=[self.args.topic_arn],
            tags=self.args.tags,
            opts=pulumi.ResourceOptions(parent=self),
            **metric,
        )
