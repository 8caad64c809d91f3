"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from weir.config import Settings
from weir.metrics.alerts.service import AlertService
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import AlertStore, MetricStore


@dataclass
class Services:
    store: MetricStore
    ingest: IngestService
    query: QueryService
    alerts: AlertService | None = None
    alert_store: AlertStore | None = None
    alert_worker: object | None = None  # weir.metrics.alerts.worker.AlertWorker when local

    def close(self) -> None:
        if self.alert_worker is not None:
            self.alert_worker.stop()  # type: ignore[attr-defined]
        if self.alert_store is not None:
            self.alert_store.close()
        self.store.close()


def build_local(settings: Settings) -> Services:
    from weir.backends.sqlite.metrics import SqliteMetricStore

    store = SqliteMetricStore(
        settings.metrics_db,
        retention_seconds=settings.retention_seconds,
        flush_points=settings.flush_points,
        flush_seconds=settings.flush_seconds,
    )
    services = Services(
        store=store,
        ingest=IngestService(store, settings.retention_seconds),
        query=QueryService(store, settings.retention_seconds),
    )
    _add_local_alerts(services, settings)
    return services


def _add_local_alerts(services: Services, settings: Settings) -> None:
    """Alert rules in `alerts.db`, evaluated and delivered by two background threads."""
    from weir import configfile
    from weir.backends.local.notify import LogNotifier, WebhookNotifier
    from weir.backends.sqlite.alerts import SqliteAlertStore
    from weir.metrics.alerts.evaluate import AlertEngine
    from weir.metrics.alerts.notify import LOG_TARGET, SNS_TARGET, Dispatcher, RetryPolicy, Router
    from weir.metrics.alerts.service import subscription_from
    from weir.metrics.alerts.worker import AlertWorker
    from weir.metrics.timeutil import NS

    cfg = configfile.load(settings.config_file) if settings.config_file else configfile.FileConfig()
    alerts = SqliteAlertStore(settings.alerts_db)
    now = int(time.time() * NS)
    alerts.replace_config_subscriptions([subscription_from(s, s.id, "config", now) for s in cfg.subscriptions])
    topic = cfg.alerts.sns_topic_arn or settings.alert_topic_arn
    notifiers: dict = {LOG_TARGET: LogNotifier()}
    if topic:
        import boto3

        from weir.backends.aws.notify import SnsNotifier

        notifiers[SNS_TARGET] = SnsNotifier(boto3.client("sns"), topic)
    router = Router(alerts, sns=bool(topic))
    engine = AlertEngine(services.store, alerts, router, environment=settings.environment)
    retry = RetryPolicy(cfg.alerts.max_attempts, cfg.alerts.backoff_seconds, cfg.alerts.backoff_max_seconds)
    dispatcher = Dispatcher(alerts, notifiers, WebhookNotifier.for_subscription, retry=retry)
    worker = AlertWorker(engine, dispatcher, evaluate_every=cfg.alerts.evaluate_every,
                         min_interval=cfg.alerts.min_interval)
    services.ingest.listener = worker.metrics_ingested
    services.alert_store = alerts
    services.alert_worker = worker
    services.alerts = AlertService(alerts, services.store, router, on_rules_changed=worker.rules_changed,
                                   last_evaluated=engine.last_evaluated.get)
    worker.start()
