"""The time-series table's stream → the `stream` function (compaction).

Partial batch responses (`ReportBatchItemFailures`: the function names the records that
failed, Lambda retries from the first of them), a bounded number of retries, and an
on-failure destination: the encrypted dead-letter queue, which gets the batch's stream
coordinates when retries run out (the records themselves stay in the stream for 24 h).
The filter (`weir.backends.aws.key_schema.STREAM_FILTER_PATTERN`) keeps the function's own
chunk and mark writes from invoking it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming


@dataclass
class StreamTriggerArgs:
    environment: str
    stream_arn: pulumi.Input[str]
    function_arn: pulumi.Input[str]
    dead_letter_arn: pulumi.Input[str]
    tags: pulumi.Input[dict[str, str]]
    filter_pattern: dict | None = None
    batch_size: pulumi.Input[int] = 100
    batching_window_seconds: pulumi.Input[int] = 5
    maximum_retry_attempts: pulumi.Input[int] = 10


class StreamTrigger(pulumi.ComponentResource):
    def __init__(self, name: str, args: StreamTriggerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}StreamTrigger", name, None, opts)
        criteria = aws.lambda_.EventSourceMappingFilterCriteriaArgs(
            filters=[aws.lambda_.EventSourceMappingFilterCriteriaFilterArgs(pattern=json.dumps(args.filter_pattern))]
        ) if args.filter_pattern else None
        self.mapping = aws.lambda_.EventSourceMapping(
            naming.name("stream-trigger", args.environment),
            event_source_arn=args.stream_arn,
            function_name=args.function_arn,
            starting_position="TRIM_HORIZON",  # records written before the mapping existed are compacted too
            batch_size=args.batch_size,
            maximum_batching_window_in_seconds=args.batching_window_seconds,
            function_response_types=["ReportBatchItemFailures"],
            maximum_retry_attempts=args.maximum_retry_attempts,
            destination_config=aws.lambda_.EventSourceMappingDestinationConfigArgs(
                on_failure=aws.lambda_.EventSourceMappingDestinationConfigOnFailureArgs(
                    destination_arn=args.dead_letter_arn)),
            filter_criteria=criteria,
            tags=args.tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"uuid": self.mapping.uuid})
