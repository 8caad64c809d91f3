"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weir import config
from weir.auth import Authenticator
from weir.config import MissingSettingError, Settings
from weir.errors import InvalidInputError
from weir.files.service import FileIndexer, FileQuery
from weir.metrics.alerts.service import AlertService
from weir.metrics.export_schedule import ExportScheduler
from weir.metrics.export_service import ExportService
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import AlertStore, FileCatalog, MetricStore, ObjectStore, PushGroupStore
from weir.ratelimit import RateLimiter

if TYPE_CHECKING:
    from weir.backends.local.watcher import FolderWatcher
    from weir.backends.sqlite.reader import SqliteMetricReader
    from weir.files.sync import FolderSync
    from weir.metrics.alerts.worker import AlertWorker


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
    push_groups: PushGroupStore | None = None
    files: FileServices | None = None  # Pushgateway group membership (weir.metrics.push)

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
        self.store.close()


def build_local(settings: Settings) -> Services:
    from weir.backends.sqlite.keys import SqliteKeyStore
    from weir.backends.sqlite.metrics import SqliteMetricStore
    from weir.backends.sqlite.pushgroups import SqlitePushGroupStore

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
    )
    _add_local_alerts(services, settings)
    return services


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


def build_local_files(settings: Settings, *, watch: bool = False) -> FileServices:
    """The SQLite catalog over the local bucket folder; with `watch`, its watcher too."""
    from weir.backends.local.folder import LocalFolder
    from weir.backends.sqlite.files import SqliteFileCatalog
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
