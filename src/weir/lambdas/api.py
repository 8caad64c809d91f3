"""The `api` function: API Gateway REST proxy events → the same route table as `weir serve`."""

from weir.lambdas import lean, runtime

lean.lazy_packages("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402 - after lazy_packages, which must run first

logger, metrics, tracer = runtime.observability("api")


@runtime.traced(tracer)
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context) -> dict:
    response = runtime.app().resolve(event, context)
    runtime.observe(logger, metrics, event, response)
    return response
