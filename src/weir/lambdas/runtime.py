"""What every Weir function shares: services built once per container, and observability.

Imports stay lazy (boto3, the route table) so that a function's cold start costs little
more than creating its boto3 client (see bench/cold_start.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from weir.lambdas import coldstart

NAMESPACE = "Weir"
_environment = "unknown"  # of the bundle this container built, for the EMF dimension

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver

    from weir.backends.aws.metrics import DynamoMetricStore
    from weir.config import Settings
    from weir.http.services import ApiServices
    from weir.wiring.alerts import AlertsFunction
    from weir.wiring.exporter import ExporterFunction
    from weir.wiring.file_indexer import FileIndexerFunction


# One cached builder per function: the container builds its bundle on the first
# invocation, from exactly the variables infra/ sets for it (config.FUNCTION_ENV), and
# keeps it. What is built follows those variables: the `api` function gets no SNS or S3
# client, the `exporter` no alerting. Tests and benchmarks replace a builder (monkeypatch)
# and call `reset`.


def _settings(function: str) -> Settings:
    global _environment
    from weir.wiring.aws import lambda_settings

    settings = lambda_settings(function)
    _environment = settings.environment
    return settings


@functools.cache
def api_services() -> ApiServices:
    from weir.wiring.api import build_api

    return build_api(_settings("api"))  # settles once its route table is built too (`app`)


@functools.cache
def app() -> APIGatewayRestResolver:
    """The Powertools resolver of `weir.http.app`, over the `api` function's services."""
    from weir.http.app import build_app

    resolver = build_app(api_services())
    coldstart.settle()
    return resolver


@functools.cache
def stream_store() -> DynamoMetricStore:
    """The metric store alone: all the `stream` function needs."""
    from weir.wiring.stream import build_stream

    store = build_stream(_settings("stream"))
    coldstart.settle()
    return store


@functools.cache
def alerts() -> AlertsFunction:
    from weir.wiring.alerts import build_alerts

    built = build_alerts(_settings("alerts"))
    coldstart.settle()
    return built


@functools.cache
def exporter() -> ExporterFunction:
    from weir.wiring.exporter import build_exporter

    built = build_exporter(_settings("exporter"))
    coldstart.settle()
    return built


@functools.cache
def file_indexer() -> FileIndexerFunction:
    from weir.wiring.file_indexer import build_file_indexer

    try:
        return build_file_indexer()
    finally:
        coldstart.settle()  # the cold start's GC pause ends here, built or not


def reset() -> None:
    """Forget every built bundle (tests: the next invocation builds again)."""
    global _environment
    for name in ("api_services", "app", "stream_store", "alerts", "exporter", "file_indexer"):
        clear = getattr(globals()[name], "cache_clear", None)  # a test may have replaced the builder
        if clear is not None:
            clear()
    _environment = "unknown"


def environment() -> str:
    return _environment


def seconds_left(context) -> Callable[[], float]:
    """The invocation's remaining time, for work that must stop before the timeout."""
    get = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: get() / 1000) if get is not None else (lambda: float("inf"))


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
