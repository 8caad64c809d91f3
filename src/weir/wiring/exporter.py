"""The `exporter` Lambda: every hour, export closed hours to S3 and compact idle metrics."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weir.config import Settings
from weir.wiring.aws import AwsClients, dynamo_store

if TYPE_CHECKING:
    from weir.backends.aws.metrics import DynamoMetricStore
    from weir.metrics.export.schedule import ExportScheduler


@dataclass(frozen=True)
class ExporterFunction:
    store: DynamoMetricStore
    scheduler: ExportScheduler


def build_exporter(settings: Settings, *, clients: AwsClients | None = None,
                   clock: Callable[[], float] = time.time) -> ExporterFunction:
    """The metric store, and the export scheduler to `export_bucket` with its watermark in
    the series table."""
    from weir.backends.aws.export_state import DynamoExportState
    from weir.wiring.exports import export_scheduler

    clients = clients or AwsClients(settings.endpoint_url)
    store = dynamo_store(settings, clients, clock=clock)
    state = DynamoExportState(clients.get("dynamodb"), settings.series_table)
    return ExporterFunction(store, export_scheduler(settings, store, state, clients, clock=clock))
