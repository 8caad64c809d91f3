"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from weir.config import MissingSettingError, Settings
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import MetricStore


@dataclass
class Services:
    store: MetricStore
    ingest: IngestService
    query: QueryService

    def close(self) -> None:
        self.store.close()


def build_local(settings: Settings) -> Services:
    from weir.backends.sqlite.metrics import SqliteMetricStore

    store = SqliteMetricStore(
        settings.metrics_db,
        retention_seconds=settings.retention_seconds,
        flush_points=settings.flush_points,
        flush_seconds=settings.flush_seconds,
    )
    return Services(
        store=store,
        ingest=IngestService(store, settings.retention_seconds),
        query=QueryService(store, settings.retention_seconds),
    )


def build(settings: Settings) -> Services:
    """The services for `settings.backend`: what `weir serve` runs."""
    if settings.backend == "aws":
        return build_aws(settings)
    return build_local(settings)


def build_aws(settings: Settings, *, client=None, clock: Callable[[], float] = time.time) -> Services:
    """DynamoDB-backed services: the Lambda functions, and `weir serve --backend aws`.

    The region comes from boto3's own resolution (the Lambda runtime, AWS_DEFAULT_REGION,
    a profile); Weir never sets it. `settings.endpoint_url` points at an emulator.
    """
    store = build_aws_store(settings, client=client, clock=clock)
    return Services(
        store=store,
        ingest=IngestService(store, settings.retention_seconds, clock),
        query=QueryService(store, settings.retention_seconds, clock),
    )


def build_aws_store(settings: Settings, *, client=None, clock: Callable[[], float] = time.time):
    """The DynamoDB metric store alone (what the `stream` function needs)."""
    from weir.backends.aws.metrics import DynamoMetricStore

    if client is None:
        client = dynamodb_client(settings.endpoint_url)
    if settings.create_tables:
        from weir.backends.aws.tables import create_tables

        create_tables(client, metrics_table=settings.metrics_table, series_table=settings.series_table)
    return DynamoMetricStore(
        client,
        metrics_table=settings.metrics_table,
        series_table=settings.series_table,
        retention_seconds=settings.retention_seconds,
        clock=clock,
    )


def lambda_settings() -> Settings:
    """A deployed function's settings, from the variables infra/ sets (config.LAMBDA_ENV)."""
    import os

    return Settings.for_lambda(os.environ)


def dynamodb_client(endpoint_url: str | None = None):
    """A DynamoDB client, created through botocore's session: the same client and the same
    region/credential/endpoint resolution as `boto3.client("dynamodb")`, without importing
    boto3's resource layer and s3transfer (30-40 ms of every cold start)."""
    from botocore.config import Config
    from botocore.exceptions import NoRegionError
    from botocore.session import get_session

    try:
        return get_session().create_client(
            "dynamodb",
            endpoint_url=endpoint_url,
            config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5, read_timeout=20),
        )
    except NoRegionError:
        raise MissingSettingError(
            "no AWS region configured: set AWS_DEFAULT_REGION or a profile's region "
            "(in Lambda the runtime provides it; Weir never sets the region itself)"
        ) from None
