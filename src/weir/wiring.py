"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from weir import config
from weir.config import Settings
from weir.errors import InvalidInputError
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import AlertStore, FileCatalog, MetricStore, ObjectStore, PushGroupStore

# Imported where used, not here: a Lambda function imports this module on its cold start
# and needs only its own part (the files, auth and export modules cost ~25 ms together).
if TYPE_CHECKING:
    from weir.auth import Authenticator
    from weir.backends.local.watcher import FolderWatcher
    from weir.backends.sqlite.reader import SqliteMetricReader
    from weir.configfile import FileConfig
    from weir.files.service import FileIndexer, FileQuery
    from weir.files.sync import FolderSync
    from weir.metrics.alerts.destinations import Resolver, WebhookPolicy
    from weir.metrics.alerts.evaluate import AlertEngine
    from weir.metrics.alerts.notify import Dispatcher, RetryPolicy
    from weir.metrics.alerts.service import AlertService
    from weir.metrics.alerts.worker import AlertWorker
    from weir.metrics.export_schedule import ExportScheduler
    from weir.metrics.export_service import ExportService
    from weir.ratelimit import RateLimiter


@dataclass
class FileServices:
    catalog: FileCatalog
    indexer: FileIndexer
    query: FileQuery
    sync: FolderSync | None = None  # local only
    watcher: FolderWatcher | None = None  # local only

    def start(self) -> None:
        if self.watcher is not None:
            self.watcher.start()

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.catalog.close()


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
    alerts: AlertService | None = None
    alert_store: AlertStore | None = None
    alert_worker: AlertWorker | None = None
    alert_engine: AlertEngine | None = None  # what the `alerts` function drives on its schedule
    alert_dispatcher: Dispatcher | None = None
    push_groups: PushGroupStore | None = None  # Pushgateway group membership (weir.metrics.push)
    files: FileServices | None = None
    settings: Settings | None = None  # what these were built from (GET /status reports it)
    # What wiring opened for these services and nothing else closes (the clients it created).
    closers: list[Callable[[], None]] = field(default_factory=list)

    def start_background(self) -> None:
        """Start the background jobs (`weir serve` only; in AWS, EventBridge calls them)."""
        if self.files is not None:
            self.files.start()
        if self.alert_worker is not None:
            self.alert_worker.start()
        if self.export_scheduler is not None:
            self.export_scheduler.start()

    def close(self) -> None:
        """Stop background jobs, then the stores (the metric store flushes). Safe to call twice."""
        if self.files is not None:
            self.files.close()
            self.files = None
        if self.alert_worker is not None:
            self.alert_worker.stop()
            self.alert_worker = None
        if self.alert_store is not None:
            self.alert_store.close()
            self.alert_store = None
        if self.export_scheduler is not None:
            self.export_scheduler.stop()
            self.export_scheduler.state.close()
            self.export_scheduler = None
        if self.push_groups is not None:
            self.push_groups.close()
            self.push_groups = None
        if self.auth is not None:
            self.auth.close()
            self.auth = None
        self.store.close()
        while self.closers:
            self.closers.pop()()


def build_local(settings: Settings) -> Services:
    from weir.auth import Authenticator
    from weir.backends.sqlite.keys import SqliteKeyStore
    from weir.backends.sqlite.metrics import SqliteMetricStore
    from weir.backends.sqlite.pushgroups import SqlitePushGroupStore
    from weir.metrics.export_schedule import ExportScheduler
    from weir.metrics.export_service import ExportService
    from weir.ratelimit import RateLimiter

    store = SqliteMetricStore(
        settings.metrics_db,
        retention_seconds=settings.retention_seconds,
        flush_points=settings.flush_points,
        flush_seconds=settings.flush_seconds,
    )
    closers: list[Callable[[], None]] = []
    exporter = ExportService(store, build_export_target(settings, closers=closers), fmt=settings.export_format)
    scheduler = None
    if settings.exports:
        from weir.backends.sqlite.export_state import SqliteExportState

        scheduler = ExportScheduler(
            exporter,
            SqliteExportState(settings.metrics_db),
            retention_seconds=settings.retention_seconds,
            delay_seconds=settings.export_delay_seconds,
        )
    services = Services(
        store=store,
        ingest=IngestService(store, settings.retention_seconds),
        query=QueryService(store, settings.retention_seconds),
        auth=Authenticator(SqliteKeyStore(settings.keys_db), open_reads=settings.open_reads),
        limiter=RateLimiter(settings.rate_limit) if settings.rate_limit else None,
        exporter=exporter,
        export_scheduler=scheduler,
        push_groups=SqlitePushGroupStore(settings.data_dir / "pushgroups.db"),
        files=build_local_files(settings, watch=settings.watch_files),
        settings=settings,
        closers=closers,
    )
    _add_local_alerts(services, settings)
    return services


def build_export_target(settings: Settings, s3_client=None, session=None, closers: list | None = None) -> ObjectStore:
    """S3 when a bucket is configured, else the local exports folder. A client created here
    gets its `close` added to `closers`, when given."""
    if settings.export_bucket:
        from weir.backends.aws.objects import S3ObjectStore
        from weir.backends.aws.session import aws_client

        # The region comes from the environment or the Lambda runtime; never set it here.
        client = s3_client
        if client is None:
            client = aws_client("s3", settings.export_endpoint_url or settings.endpoint_url, session)
            if closers is not None:
                closers.append(client.close)
        return S3ObjectStore(client, settings.export_bucket, settings.export_prefix)
    from weir.backends.local.objects import FolderObjectStore

    return FolderObjectStore(settings.exports_path)


def build_offline_export(settings: Settings) -> tuple[ExportService, SqliteMetricReader]:
    """`weir export`: the export over a read-only view of the data folder (see the reader)."""
    from weir.backends.sqlite.reader import SqliteMetricReader
    from weir.metrics.export_service import ExportService

    reader = SqliteMetricReader(settings.metrics_db)
    return ExportService(reader, build_export_target(settings), fmt=settings.export_format), reader


def _add_local_alerts(services: Services, settings: Settings) -> None:
    """Alert rules in `alerts.db`, evaluated and delivered by two background threads."""
    from weir import configfile
    from weir.backends.sqlite.alerts import SqliteAlertStore
    from weir.metrics.alerts.notify import RetryPolicy

    cfg = configfile.load(settings.config_file) if settings.config_file else configfile.FileConfig()
    retry = RetryPolicy(cfg.alerts.max_attempts, cfg.alerts.backoff_seconds, cfg.alerts.backoff_max_seconds)
    _wire_alerts(services, settings, SqliteAlertStore(settings.alerts_db), cfg, retry=retry, background=True)


def webhook_policy(settings: Settings, cfg: FileConfig | None, *, serve: bool,
                   resolver: Resolver | None = None) -> WebhookPolicy:
    """Where webhooks may go (weir.metrics.alerts.destinations).

    Private and loopback addresses: as the config file's `allow_private_webhooks` says,
    else as the settings say (WEIR_WEBHOOK_ALLOW on AWS), else allowed only when `weir
    serve` binds to loopback: then only processes on this machine can create
    subscriptions, and they can reach those addresses themselves anyway. A server bound to
    the network, or a Lambda function in AWS, refuses them unless they are allowed.
    """
    from weir.metrics.alerts.destinations import WebhookPolicy

    if resolver is None:
        from weir.backends.local.notify import system_resolver

        resolver = system_resolver
    file = cfg.alerts if cfg is not None else None
    allow_private = file.allow_private_webhooks if file is not None else None
    if allow_private is None:
        allow_private = settings.allow_private_webhooks
    if allow_private is None:
        allow_private = serve and _is_loopback(settings.host)
    allow = settings.webhook_allow + tuple(file.webhook_allow if file is not None else ())
    hint = ("allow them with [alerts] webhook_allow = [\"<network or host>\"] or allow_private_webhooks = true "
            "in the --config file" if serve else
            f"allow them with {config.ENV_WEBHOOK_ALLOW}=<networks or hosts>, or {config.ENV_WEBHOOK_ALLOW}=private")
    return WebhookPolicy(resolver=resolver, allow_private=allow_private, allow=allow, hint=hint)


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower().removesuffix(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _nothing() -> None:
    """The rules-changed hook when no background worker runs: nothing to wake."""


def _wire_alerts(
    services: Services,
    settings: Settings,
    alerts: AlertStore,
    cfg: FileConfig | None,
    *,
    retry: RetryPolicy,
    background: bool,
    clock: Callable[[], float] = time.time,
    sns_client=None,
    session=None,
) -> None:
    """The alerting services over an alert store of either backend.

    `background` (`weir serve`): an evaluator thread fed by ingest and a dispatcher thread.
    Without it (the Lambda functions) nothing runs by itself: the `alerts` function drives
    `alert_engine` and `alert_dispatcher` on its schedule, and the `api` function only
    stores rules, so no request waits for an evaluation.
    """
    from weir.backends.local.notify import LogNotifier, WebhookNotifier
    from weir.metrics.alerts.evaluate import AlertEngine
    from weir.metrics.alerts.notify import LOG_TARGET, SNS_TARGET, Dispatcher, Router
    from weir.metrics.alerts.service import AlertService, subscription_from
    from weir.metrics.timeutil import NS

    destinations = webhook_policy(settings, cfg, serve=background)
    if cfg is not None:
        now = int(clock() * NS)
        subs = []
        for i, s in enumerate(cfg.subscriptions):
            try:
                subs.append(subscription_from(s, s.id, "config", now, destinations=destinations))
            except InvalidInputError as exc:  # a start-up error that names the file and the entry
                raise InvalidInputError(f"config {settings.config_file}: subscriptions[{i}] ({s.id}): {exc.message}"
                                        ) from None
        alerts.replace_config_subscriptions(subs)
    topic = (cfg.alerts.sns_topic_arn if cfg is not None else None) or settings.alert_topic_arn
    notifiers: dict = {LOG_TARGET: LogNotifier()}
    if topic:
        from weir.backends.aws.notify import SnsNotifier
        from weir.backends.aws.session import aws_client

        if sns_client is None:
            sns_client = aws_client("sns", settings.endpoint_url, session)
            services.closers.append(sns_client.close)
        notifiers[SNS_TARGET] = SnsNotifier(sns_client, topic)
    router = Router(alerts, sns=bool(topic))
    engine = AlertEngine(services.store, alerts, router, environment=settings.environment, clock=clock)
    dispatcher = Dispatcher(alerts, notifiers, partial(WebhookNotifier.for_subscription, policy=destinations),
                            retry=retry, clock=clock)
    services.alert_store = alerts
    services.alert_engine = engine
    services.alert_dispatcher = dispatcher
    on_rules_changed: Callable[[], None] = _nothing
    if background:
        from weir.configfile import FileConfig
        from weir.metrics.alerts.worker import AlertWorker

        timing = (cfg or FileConfig()).alerts
        worker = AlertWorker(engine, dispatcher, evaluate_every=timing.evaluate_every, min_interval=timing.min_interval)
        services.ingest.listener = worker.metrics_ingested
        services.alert_worker = worker
        on_rules_changed = worker.rules_changed
    services.alerts = AlertService(alerts, services.store, router, destinations=destinations,
                                   on_rules_changed=on_rules_changed,
                                   last_evaluated=engine.last_evaluated.get, clock=clock)


def build_local_files(settings: Settings, *, watch: bool = False) -> FileServices:
    """The SQLite catalog over the local bucket folder; with `watch`, its watcher too."""
    from weir.backends.local.folder import LocalFolder
    from weir.backends.sqlite.files import SqliteFileCatalog
    from weir.files.service import FileIndexer, FileQuery
    from weir.files.sync import FolderSync, LocalSequencer

    root = settings.files_root
    root.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    bucket = local_bucket_name(root)
    catalog = SqliteFileCatalog(settings.files_db)
    indexer = FileIndexer(catalog, LocalFolder(root), region="local", deletion=settings.files_deletion)
    sync = FolderSync(indexer, LocalFolder(root), bucket=bucket,
                      sequencer=LocalSequencer(catalog.max_sequencer(bucket)))
    watcher = None
    if watch:
        import time

        from weir.backends.local.watcher import FolderWatcher

        watcher = FolderWatcher(sync, root, purge=lambda: catalog.purge_expired(int(time.time())))
    return FileServices(catalog, indexer, FileQuery(catalog, bucket=bucket), sync, watcher)


def local_bucket_name(root) -> str:
    """A local folder plays the bucket named after it (`<data-dir>/bucket` → `bucket`)."""
    return root.resolve().name or "bucket"


@dataclass
class LambdaFiles:
    indexer: FileIndexer
    region: str
    environment: str | None


def build_file_indexer(environ: Mapping[str, str] = os.environ) -> LambdaFiles:
    """The file_indexer Lambda's indexer: DynamoDB catalog, S3 as the object source.

    Reads exactly `config.FILE_INDEXER_ENV` and the region the Lambda runtime provides.
    An endpoint override (moto, LocalStack) comes from boto3's own AWS_ENDPOINT_URL.
    """
    import boto3
    from botocore.config import Config

    from weir.backends.aws.files import DynamoFileCatalog, S3ObjectSource
    from weir.files.service import FileIndexer

    table = environ.get(config.ENV_FILES_TABLE)
    if not table:
        raise InvalidInputError(f"{config.ENV_FILES_TABLE} is not set: the name of the file catalog table")
    deletion = environ.get(config.ENV_FILES_DELETION) or "tombstone"
    environment = environ.get(config.ENV_ENVIRONMENT)
    region = next((environ[k] for k in config.REGION_ENV if environ.get(k)), None)
    if region is None:
        raise InvalidInputError("no AWS region: the Lambda runtime sets AWS_REGION; locally set AWS_DEFAULT_REGION")
    boto_config = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=10)
    session = boto3.session.Session(region_name=region)
    catalog = DynamoFileCatalog(session.client("dynamodb", config=boto_config), table)
    objects = S3ObjectSource(session.client("s3", config=boto_config))
    return LambdaFiles(FileIndexer(catalog, objects, region=region, deletion=deletion), region, environment)


def build(settings: Settings) -> Services:
    """The services for `settings.backend`: what `weir serve` runs."""
    if settings.backend == "aws":
        return build_aws(settings, background=True)
    return build_local(settings)


def build_aws(
    settings: Settings,
    *,
    client=None,
    clock: Callable[[], float] = time.time,
    sns_client=None,
    s3_client=None,
    background: bool = False,
) -> Services:
    """DynamoDB-backed services: the Lambda functions, and `weir serve --backend aws`.

    What is built follows the settings, so each function gets only what it uses (and
    creates only the clients it needs: cold starts): alerting when `alert_table` is set
    (SNS when a topic is), exports when `exports` is (the `exporter` function: to
    `export_bucket` with SSE). Push-group membership and the export watermark live in
    the series table. `background` is `weir serve`: the alert threads and the export
    scheduler thread, where AWS has EventBridge schedules instead.

    The region comes from botocore's own resolution (the Lambda runtime, AWS_DEFAULT_REGION,
    a profile); Weir never sets it. `settings.endpoint_url` points at an emulator.
    """
    from weir.backends.aws.session import aws_client, new_session
    from weir.backends.aws.state import DynamoExportState, DynamoPushGroupStore

    session = new_session()
    closers: list[Callable[[], None]] = []
    if client is None:
        client = aws_client("dynamodb", settings.endpoint_url, session)
        closers.append(client.close)
    store = build_aws_store(settings, client=client, clock=clock)
    services = Services(
        store=store,
        ingest=IngestService(store, settings.retention_seconds, clock),
        query=QueryService(store, settings.retention_seconds, clock),
        push_groups=DynamoPushGroupStore(client, settings.series_table),
        settings=settings,
        closers=closers,
    )
    if settings.alert_table:
        from weir.backends.aws.alerts import DynamoAlertStore
        from weir.metrics.alerts.notify import SCHEDULED_RETRY, RetryPolicy

        cfg = None
        retry = SCHEDULED_RETRY
        if background:
            from weir import configfile

            cfg = configfile.load(settings.config_file) if settings.config_file else configfile.FileConfig()
            retry = RetryPolicy(cfg.alerts.max_attempts, cfg.alerts.backoff_seconds, cfg.alerts.backoff_max_seconds)
        _wire_alerts(services, settings, DynamoAlertStore(client, settings.alert_table), cfg, retry=retry,
                     background=background, clock=clock, sns_client=sns_client, session=session)
    if settings.exports:
        from weir.metrics.export_schedule import ExportScheduler
        from weir.metrics.export_service import ExportService

        target = build_export_target(settings, s3_client, session, services.closers)
        services.exporter = ExportService(store, target, fmt=settings.export_format, clock=clock)
        services.export_scheduler = ExportScheduler(
            services.exporter, DynamoExportState(client, settings.series_table),
            retention_seconds=settings.retention_seconds, delay_seconds=settings.export_delay_seconds, clock=clock,
        )
    return services


def build_aws_store(settings: Settings, *, client=None, clock: Callable[[], float] = time.time):
    """The DynamoDB metric store alone (what the `stream` function needs)."""
    from weir.backends.aws.metrics import DynamoMetricStore

    if client is None:
        from weir.backends.aws.session import aws_client

        client = aws_client("dynamodb", settings.endpoint_url)
    if settings.create_tables:
        from weir.backends.aws.tables import create_tables

        create_tables(client, metrics_table=settings.metrics_table, series_table=settings.series_table,
                      alerts_table=settings.alert_table)
    return DynamoMetricStore(
        client,
        metrics_table=settings.metrics_table,
        series_table=settings.series_table,
        retention_seconds=settings.retention_seconds,
        clock=clock,
    )


def lambda_settings(function: str = "api") -> Settings:
    """A deployed function's settings, from exactly its variables (config.FUNCTION_ENV)."""
    return Settings.for_lambda(os.environ, function)
