"""The `api` function: API Gateway REST proxy events → the same route table as `weir serve`."""

from urllib.parse import unquote

from weir.lambdas import lean, runtime

lean.lazy_packages("aws_lambda_powertools.event_handler", "aws_lambda_powertools.utilities.data_classes")

from aws_lambda_powertools.logging import correlation_paths  # noqa: E402 - after lazy_packages, which must run first

logger, metrics, tracer = runtime.observability("api")


@runtime.first_call_settles
@runtime.traced(tracer)
@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def handler(event: dict, context) -> dict:
    # API Gateway REST hands `path` over as the client sent it, percent-encoded; the route
    # table reads it decoded once, as `weir serve` gets it from its ASGI server.
    response = runtime.app().resolve({**event, "path": unquote(event.get("path") or "/")}, context)
    runtime.observe(logger, metrics, event, response)
    return response
