"""The composition root: build the services for a configuration.

This is the only module that chooses adapters. Local mode and AWS mode differ here and
nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from weir import config
from weir.config import Settings
from weir.errors import InvalidInputError
from weir.files.service import FileIndexer, FileQuery
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.ports import FileCatalog, MetricStore


@dataclass
class FileServices:
    catalog: FileCatalog
    indexer: FileIndexer
    query: FileQuery
    sync: object | None = None  # weir.files.sync.FolderSync (local only)
    watcher: object | None = None  # weir.backends.local.watcher.FolderWatcher

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
    files: FileServices | None = None

    def start(self) -> None:
        """Start background work (the folder watcher); `weir serve` calls it once."""
        if self.files is not None:
            self.files.start()

    def close(self) -> None:
        if self.files is not None:
            self.files.close()
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
        files=build_local_files(settings, watch=settings.watch_files),
    )


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
