"""`weir serve`: the API's services over SQLite (a data folder) or DynamoDB, and the
background jobs that AWS runs as scheduled functions instead."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from weir.config import Settings
from weir.http.services import ApiServices
from weir.wiring.aws import AwsClients

if TYPE_CHECKING:
    from weir.auth import Authenticator
    from weir.metrics.alerts.ports import AlertStore
    from weir.metrics.ports import ExportState, MetricStore, PointBatch, PushGroupStore
    from weir.ratelimit import RateLimiter


class Job(Protocol):
    """A background thread of `weir serve` (the alert worker, the export scheduler, the
    folder watcher): started after the services are built, stopped before they close."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


@dataclass
class Serve:
    api: ApiServices
    jobs: list[Job] = field(default_factory=list)
    # What to close once the jobs have stopped, in this order (the metric store, which
    # flushes, after everything that reads it; the clients wiring created last).
    closers: list[Callable[[], None]] = field(default_factory=list)

    def start_background(self) -> None:
        for job in self.jobs:
            job.start()

    def close(self) -> None:
        """Stop the jobs, then close the stores and clients. Safe to call twice."""
        jobs, self.jobs = self.jobs, []
        for job in jobs:
            job.stop()
        while self.closers:
            self.closers.pop(0)()


@dataclass
class _Adapters:
    """One backend's stores, for the assembly `build_serve` shares between both."""

    store: MetricStore
    push_groups: PushGroupStore
    alerts: AlertStore | None
    export_state: Callable[[], ExportState]
    auth: Authenticator | None  # API keys and rate limits: local only (API Gateway has its own)
    limiter: RateLimiter | None


def build_serve(settings: Settings, *, clients: AwsClients | None = None,
                clock: Callable[[], float] = time.time) -> Serve:
    """The services for `settings.backend`, with every background job `weir serve` runs.

    `clients`: AWS clients to use instead of creating them (tests); those are not closed.
    """
    owned = clients is None
    if clients is None:
        clients = AwsClients(settings.endpoint_url)  # S3, SNS or DynamoDB: created only when configured
    adapters = _aws(settings, clients, clock) if settings.backend == "aws" else _local(settings)
    return _assemble(settings, adapters, clients, owned, clock)


def _local(settings: Settings) -> _Adapters:
    from weir.auth import Authenticator
    from weir.backends.sqlite.alerts import SqliteAlertStore
    from weir.backends.sqlite.api_keys import SqliteKeyStore
    from weir.backends.sqlite.export_state import SqliteExportState
    from weir.backends.sqlite.integrity import startup_check
    from weir.backends.sqlite.metrics import SqliteMetricStore
    from weir.backends.sqlite.pushgroups import SqlitePushGroupStore
    from weir.ratelimit import RateLimiter

    startup_check(settings.data_dir)  # a damaged file stops the start here, naming itself
    store = SqliteMetricStore(
        settings.metrics_db,
        retention_seconds=settings.retention_seconds,
        minute_retention_seconds=settings.minute_retention_seconds,
        hour_retention_seconds=settings.hour_retention_seconds,
        flush_points=settings.flush_points,
        flush_seconds=settings.flush_seconds,
    )
    return _Adapters(
        store=store,
        push_groups=SqlitePushGroupStore(settings.data_dir / "pushgroups.db"),
        alerts=SqliteAlertStore(settings.alerts_db),
        export_state=lambda: SqliteExportState(settings.metrics_db),
        auth=Authenticator(SqliteKeyStore(settings.keys_db), open_reads=settings.open_reads),
        limiter=RateLimiter(settings.rate_limit) if settings.rate_limit else None,
    )


def _aws(settings: Settings, clients: AwsClients, clock: Callable[[], float]) -> _Adapters:
    """DynamoDB: push groups and the export watermark in the series table; alerting when
    `alert_table` is set. No API keys: the local server over DynamoDB is a development aid."""
    from weir.backends.aws.export_state import DynamoExportState
    from weir.backends.aws.pushgroups import DynamoPushGroupStore
    from weir.wiring.aws import dynamo_store

    store = dynamo_store(settings, clients, clock=clock)
    client = clients.get("dynamodb")
    alerts = None
    if settings.alert_table:
        from weir.backends.aws.alerts import DynamoAlertStore

        alerts = DynamoAlertStore(client, settings.alert_table)
    return _Adapters(
        store=store,
        push_groups=DynamoPushGroupStore(client, settings.series_table),
        alerts=alerts,
        export_state=lambda: DynamoExportState(client, settings.series_table),
        auth=None,
        limiter=None,
    )


def _chain(first: Callable[[PointBatch], None] | None,
           then: Callable[[PointBatch], None]) -> Callable[[PointBatch], None]:
    """Two ingest listeners as one (the ingest service tells one)."""
    if first is None:
        return then

    def both(batch: PointBatch) -> None:
        try:
            first(batch)
        finally:
            then(batch)

    return both
def series_budget(settings: Settings, store: MetricStore):
    """The series limits of ingest (weir.metrics.cardinality), from the settings."""
    from weir.metrics.cardinality import SeriesBudget, SeriesLimits

    return SeriesBudget(store.metric_names, SeriesLimits(settings.max_series_per_metric, settings.max_series))


def _assemble(settings: Settings, a: _Adapters, clients: AwsClients, owned: bool,
              clock: Callable[[], float]) -> Serve:
    from weir.metrics.ingest import IngestService
    from weir.metrics.query.service import QueryService

    jobs: list[Job] = []
    closers: list[Callable[[], None]] = []
    files = None
    if settings.backend != "aws":
        from weir.wiring.local import local_files

        files = local_files(settings, watch=settings.watch_files)
        if files.watcher is not None:
            jobs.append(files.watcher)
        closers.append(files.catalog.close)
    listener: Callable[[PointBatch], None] | None = None
    alerts = None
    if a.alerts is not None:
        from weir.jobs.alerts import AlertWorker
        from weir.wiring.alerting import alert_core, alert_service, file_config, retry_policy

        cfg = file_config(settings)
        core = alert_core(settings, a.alerts, a.store, cfg, serve=True, retry=retry_policy(cfg), clients=clients,
                          clock=clock)
        worker = AlertWorker(core.engine, core.dispatcher, evaluate_every=cfg.alerts.evaluate_every,
                             min_interval=cfg.alerts.min_interval)
        listener = worker.metrics_ingested
        alerts = alert_service(core, a.store, on_rules_changed=worker.rules_changed, clock=clock)
        jobs.append(worker)
        closers.append(a.alerts.close)
    exports = None
    if settings.exports:
        from weir.jobs.exports import ExportWorker, YieldingScan
        from weir.wiring.exports import export_scheduler

        running = getattr(a.store, "queries_running", lambda: 0)
        exports = ExportWorker(export_scheduler(settings, YieldingScan(a.store, running), a.export_state(), clients,
                                                clock=clock),
                               queries_running=running)
        jobs.append(exports)
        closers.append(exports.state.close)
        listener = _chain(listener, exports.points_ingested)  # late points wake it
    closers.append(a.push_groups.close)
    if a.auth is not None:
        closers.append(a.auth.close)
    closers.append(a.store.close)
    if owned:
        closers.append(clients.close)
    api = ApiServices(
        store=a.store,
        ingest=IngestService(a.store, settings.retention_seconds, clock, listener=listener,
                             budget=series_budget(settings, a.store)),
        query=QueryService(a.store, settings.retention_seconds, clock),
        push_groups=a.push_groups,
        alerts=alerts,
        files=files.query if files is not None else None,
        auth=a.auth,
        limiter=a.limiter,
    )
    from weir.http.status import StatusService

    local = settings.backend != "aws"
    api.status = StatusService(api, environment=settings.environment, data_dir=settings.data_dir if local else None,
                               watched_dir=settings.files_root if local else None, exports=exports, clock=clock)
    return Serve(api, jobs, closers)
