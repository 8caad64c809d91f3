"""The `exporter` function: every hour (EventBridge), export each closed hour after the
watermark to S3 (SSE on every object), oldest first, catching up after any gap; then
compact metrics that stopped being written (the `stream` function only sees live ones).
An export failure fails the invocation after the compaction: no manifest, watermark
unmoved, so the hour is retried by Lambda and by the next run."""

from aws_lambda_powertools.metrics import MetricUnit

from weir.lambdas import runtime

logger, metrics, tracer = runtime.observability("exporter")
RESERVE_SECONDS = 20.0  # no hour is started with less time left (a cut-off hour is only redone)


@runtime.first_call_settles
@runtime.traced(tracer)
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    built = runtime.exporter()
    left = runtime.seconds_left(context)
    failure: Exception | None = None
    try:
        done = built.scheduler.run_pending(out_of_time=lambda: left() < RESERVE_SECONDS)
    except Exception as exc:  # reported after the compaction below
        logger.exception("export failed; the hour keeps no manifest and is retried")
        failure, done = exc, []
    compacted = runtime.compact_idle(built.store, logger)
    metrics.add_dimension(name="environment", value=runtime.environment())
    metrics.add_metric(name="HoursExported", unit=MetricUnit.Count, value=len(done))
    metrics.add_metric(name="RowsExported", unit=MetricUnit.Count, value=sum(r.rows for r in done))
    metrics.add_metric(name="HoursCompacted", unit=MetricUnit.Count, value=compacted)
    metrics.add_metric(name="ExportFailures", unit=MetricUnit.Count, value=int(failure is not None))
    if failure is not None:
        raise failure
    result = {"exported": [r.hour for r in done], "rows": sum(r.rows for r in done), "compacted": compacted}
    logger.info("export run", extra=result)
    return result
