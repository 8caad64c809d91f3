"""The `stream` function: the time-series table's stream → compaction of closed hours,
reporting per-record failures (Powertools BatchProcessor, partial batch response)."""

from weir.lambdas import lean, runtime

lean.lazy_packages("aws_lambda_powertools.utilities.data_classes")

from aws_lambda_powertools.metrics import MetricUnit  # noqa: E402 - after lazy_packages, which must run first
from aws_lambda_powertools.utilities.batch import (  # noqa: E402
    BatchProcessor,
    EventType,
    process_partial_response,
)

logger, metrics, tracer = runtime.observability("stream")
processor = BatchProcessor(event_type=EventType.DynamoDBStreams)


@runtime.first_call_settles
@runtime.traced(tracer)
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    from weir.backends.aws.stream import StreamCompaction

    work = StreamCompaction(runtime.stream_store())
    response = process_partial_response(
        event=event,
        record_handler=lambda record: work.record(record.event_name.name, record.dynamodb.keys["pk"]),
        processor=processor,
        context=context,
    )
    metrics.add_dimension(name="environment", value=runtime.environment())
    metrics.add_metric(name="HoursCompacted", unit=MetricUnit.Count, value=work.hours)
    metrics.add_metric(name="PointsCompacted", unit=MetricUnit.Count, value=work.points)
    metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=len(response["batchItemFailures"]))
    return dict(response)
