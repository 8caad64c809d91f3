"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from weir.auth import Authenticator
from weir.config import Settings
from weir.metrics.export_schedule import ExportScheduler
from weir.metrics.export_service import ExportService
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import MetricStore, ObjectStore
from weir.ratelimit import RateLimiter

if TYPE_CHECKING:
    from weir.backends.sqlite.reader import SqliteMetricReader


@dataclass
class Services:
    store: MetricStore
    ingest: IngestService
    query: QueryService
    # None where the platform authenticates (API Gateway usage plans in AWS).
    auth: Authenticator | None = None
    limiter: RateLimiter | None = None
    exporter: ExportService | None = None
    export_scheduler: ExportScheduler | None = None

    def start_background(self) -> None:
        """Start the background jobs (`weir serve` only; in AWS, EventBridge calls them)."""
        if self.export_scheduler is not None:
            self.export_scheduler.start()

    def close(self) -> None:
        """Stop background jobs, then the store (which flushes). Safe to call twice."""
        if self.export_scheduler is not None:
            self.export_scheduler.stop()
            self.export_scheduler.state.close()
            self.export_scheduler = None
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
    exporter = ExportService(store, build_export_target(settings), fmt=settings.export_format)
    scheduler = None
    if settings.exports:
        from weir.backends.sqlite.export_state import SqliteExportState

        scheduler = ExportScheduler(
            exporter,
            SqliteExportState(settings.metrics_db),
            retention_seconds=settings.retention_seconds,
            delay_seconds=settings.export_delay_seconds,
        )
    return Services(
        store=store,
        ingest=IngestService(store, settings.retention_seconds),
        query=QueryService(store, settings.retention_seconds),
        auth=Authenticator(SqliteKeyStore(settings.keys_db), open_reads=settings.open_reads),
        limiter=RateLimiter(settings.rate_limit) if settings.rate_limit else None,
        exporter=exporter,
        export_scheduler=scheduler,
    )


def build_export_target(settings: Settings) -> ObjectStore:
    """S3 when a bucket is configured, else the local exports folder."""
    if settings.export_bucket:
        import boto3

        from weir.backends.aws.objects import S3ObjectStore

        # The region comes from the environment or the Lambda runtime; never set it here.
        client = boto3.client("s3", endpoint_url=settings.export_endpoint_url)
        return S3ObjectStore(client, settings.export_bucket, settings.export_prefix)
    from weir.backends.local.objects import FolderObjectStore

    return FolderObjectStore(settings.exports_path)


def build_offline_export(settings: Settings) -> tuple[ExportService, SqliteMetricReader]:
    """`weir export`: the export over a read-only view of the data folder (see the reader)."""
    from weir.backends.sqlite.reader import SqliteMetricReader

    reader = SqliteMetricReader(settings.metrics_db)
    return ExportService(reader, build_export_target(settings), fmt=settings.export_format), reader
