"""What every Weir function shares: services built once per container, and observability.

Imports stay lazy (boto3, the route table) so that a function's cold start costs little
more than creating its boto3 client (see bench/cold_start.py).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from weir.lambdas import coldstart

NAMESPACE = "Weir"
_state: dict = {}


def services(function: str):
    """The services of this function's container, from exactly the variables infra/ sets
    for it (config.FUNCTION_ENV), built once. What is built follows those variables: the
    `api` function gets no SNS or S3 client, the `exporter` no alerting."""
    if "installed" in _state:
        return _state["installed"]
    key = f"services:{function}"
    if key not in _state:
        from weir.wiring import build_aws, lambda_settings

        settings = lambda_settings(function)
        _state["environment"] = settings.environment
        _state[key] = build_aws(settings)
        if function != "api":  # the api function settles once its route table is built too
            coldstart.settle()
    return _state[key]


def store():
    """The metric store alone, for functions that need nothing else (`stream`)."""
    if "installed" in _state:
        return _state["installed"].store
    if "store" not in _state:
        from weir.wiring import build_aws_store, lambda_settings

        settings = lambda_settings("stream")
        _state["environment"] = settings.environment
        _state["store"] = build_aws_store(settings)
        coldstart.settle()
    return _state["store"]


def environment() -> str:
    return _state.get("environment", "unknown")


def app():
    """The Powertools resolver of `weir.http.app`, over the `api` function's services."""
    if "app" not in _state:
        from weir.http.app import build_app

        _state["app"] = build_app(services("api"))
        coldstart.settle()
    return _state["app"]


def seconds_left(context) -> Callable[[], float]:
    """The invocation's remaining time, for work that must stop before the timeout."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: get() / 1000) if get is not None else (lambda: float("inf"))


def install(services, function: str | None = None) -> None:
    """Use these services instead of building them (tests, benchmarks): for every
    function, or for one (built as `wiring.build_aws` would, say with another clock)."""
    if function is None:
        _state.clear()
        _state["installed"] = services
        return
    _state[f"services:{function}"] = services
    if function == "api":
        _state.pop("app", None)


def reset() -> None:
    _state.clear()


def observability(function: str) -> tuple[Logger, Metrics, object | None]:
    """A JSON Logger, an EMF Metrics and, when the X-Ray SDK is installed, a Tracer."""
    service = f"weir-{function}"
    return Logger(service=service), Metrics(namespace=NAMESPACE, service=service), make_tracer(service)


def make_tracer(service: str):
    """Powertools' Tracer imports aws_xray_sdk when built; without the SDK, no tracing.

    The seed's first attempt imported the SDK unconditionally and failed to start in a
    Lambda without it (its fix #4). The bundle leaves the SDK out to keep cold starts
    short; adding it to the bundle turns tracing on with no code change.
    """
    try:
        import aws_xray_sdk  # noqa: F401 - imported only to learn whether the SDK is installed
    except ImportError:
        return None
    from aws_lambda_powertools import Tracer

    return Tracer(service=service)


def traced(tracer) -> Callable:
    return tracer.capture_lambda_handler if tracer is not None else (lambda handler: handler)


def first_call_settles(handler: Callable) -> Callable:
    """End the cold start's GC pause after the first invocation, whatever happened in it
    (normally the services being built has ended it already)."""
    import functools

    @functools.wraps(handler)
    def wrapper(event, context):
        try:
            return handler(event, context)
        finally:
            coldstart.settle()

    return wrapper


def observe(logger: Logger, metrics: Metrics, event: dict, response: dict) -> None:
    """One log line and EMF counts per request: responses by class, datapoints accepted."""
    status = int(response.get("statusCode", 200))
    logger.info("request", extra={"method": event.get("httpMethod"), "path": event.get("path"), "status": status})
    metrics.add_dimension(name="environment", value=environment())
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
    if status >= 500:
        metrics.add_metric(name="ServerErrors", unit=MetricUnit.Count, value=1)
    elif status >= 400:
        metrics.add_metric(name="ClientErrors", unit=MetricUnit.Count, value=1)
    elif event.get("httpMethod") == "POST" and event.get("path") == "/metrics":
        import msgspec

        accepted = msgspec.json.decode(response.get("body") or "{}").get("accepted", 0)
        metrics.add_metric(name="DatapointsAccepted", unit=MetricUnit.Count, value=accepted)


def compact_idle(store, logger: Logger) -> int:
    """Compact the closed pending hours of every metric (those no longer written, which
    the stream never triggers); a failure is logged, not raised: the hours stay pending
    and readable from their segments, and the next run tries again."""
    try:
        return sum(1 for r in store.compact_all_due() if r.compacted)
    except Exception:
        logger.exception("compacting idle metrics failed; the next run retries")
        return 0
