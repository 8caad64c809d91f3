"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from weir.auth import Authenticator
from weir.config import Settings
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import MetricStore
from weir.ratelimit import RateLimiter


@dataclass
class Services:
    store: MetricStore
    ingest: IngestService
    query: QueryService
    # None where the platform authenticates (API Gateway usage plans in AWS).
    auth: Authenticator | None = None
    limiter: RateLimiter | None = None

    def close(self) -> None:
        self.store.close()


def build_local(settings: Settings) -> Services:
    from weir.backends.sqlite.keys import SqliteKeyStore
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
        auth=Authenticator(SqliteKeyStore(settings.keys_db), open_reads=settings.open_reads),
        limiter=RateLimiter(settings.rate_limit) if settings.rate_limit else None,
    )
