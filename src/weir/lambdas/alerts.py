"""The `alerts` function: every minute (EventBridge), evaluate every rule, then deliver the
outbox (SNS, the log, and webhooks only where subscriptions exist). See
`weir.metrics.alerts.scheduled`; a failed delivery stays pending for a later run."""

from aws_lambda_powertools.metrics import MetricUnit

from weir.lambdas import runtime

logger, metrics, tracer = runtime.observability("alerts")


@runtime.first_call_settles
@runtime.traced(tracer)
@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict, context) -> dict:
    from weir.metrics.alerts.scheduled import scheduled_pass

    built = runtime.alerts()
    result = scheduled_pass(built.engine, built.dispatcher, built.router, seconds_left=runtime.seconds_left(context))
    logger.info("alerts pass", extra=result.as_dict())
    metrics.add_dimension(name="environment", value=runtime.environment())
    metrics.add_metric(name="AlertEvents", unit=MetricUnit.Count, value=result.events)
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=result.sent)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=result.failed)
    return result.as_dict()
