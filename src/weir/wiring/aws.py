"""The one AWS client factory every function and `weir serve --backend aws` use, and the
DynamoDB metric store they share."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from weir.config import Settings

if TYPE_CHECKING:
    from weir.backends.aws.metrics import DynamoMetricStore


class AwsClients:
    """botocore clients from one session (weir.backends.aws.session: standard retries,
    bounded timeouts, the lean model loader), created on first use and closed by `close`.

    `given` clients (tests, benchmarks: moto, fault injection) are used as they are and
    never closed here: their owner closes them. The region comes from botocore's own
    resolution (the Lambda runtime, AWS_DEFAULT_REGION, a profile) unless `region` is
    given; Weir never sets it. `endpoint_url` points at an emulator.
    """

    def __init__(self, endpoint_url: str | None = None, *, region: str | None = None, **given: Any) -> None:
        self.endpoint_url = endpoint_url
        self.region = region
        self._clients: dict[str, Any] = dict(given)
        self._created: list[Any] = []
        self._session: Any = None

    def get(self, service: str, endpoint_url: str | None = None) -> Any:
        """The client of `service` (one per service); `endpoint_url` overrides the default."""
        client = self._clients.get(service)
        if client is None:
            from weir.backends.aws.session import aws_client, new_session

            if self._session is None:
                self._session = new_session()
            client = aws_client(service, endpoint_url or self.endpoint_url, self._session, region=self.region)
            self._clients[service] = client
            self._created.append(client)
        return client

    def close(self) -> None:
        """Close the clients created here (not the given ones). Safe to call twice."""
        while self._created:
            self._created.pop().close()


def dynamo_store(settings: Settings, clients: AwsClients, *,
                 clock: Callable[[], float] = time.time) -> DynamoMetricStore:
    """The DynamoDB metric store (tables created first when the settings ask, for emulators)."""
    from weir.backends.aws.metrics import DynamoMetricStore

    client = clients.get("dynamodb")
    if settings.create_tables:
        from weir.backends.aws.tables import create_tables

        create_tables(client, metrics_table=settings.metrics_table, series_table=settings.series_table,
                      alerts_table=settings.alert_table)
    return DynamoMetricStore(
        client,
        metrics_table=settings.metrics_table,
        series_table=settings.series_table,
        retention_seconds=settings.retention_seconds,
        hour_retention_seconds=settings.hour_retention_seconds,
        clock=clock,
    )


def lambda_settings(function: str) -> Settings:
    """A deployed function's settings, from exactly its variables (config.FUNCTION_ENV)."""
    return Settings.for_lambda(os.environ, function)
