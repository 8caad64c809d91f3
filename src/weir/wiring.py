"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass

from weir.config import Settings
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import MetricStore, PushGroupStore


@dataclass
class Services:
    store: MetricStore
    ingest: IngestService
    query: QueryService
    push_groups: PushGroupStore | None = None  # Pushgateway group membership (weir.metrics.push)

    def close(self) -> None:
        self.store.close()
        if self.push_groups is not None:
            self.push_groups.close()


def build_local(settings: Settings) -> Services:
    from weir.backends.sqlite.metrics import SqliteMetricStore
    from weir.backends.sqlite.pushgroups import SqlitePushGroupStore

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
        push_groups=SqlitePushGroupStore(settings.data_dir / "pushgroups.db"),
    )
