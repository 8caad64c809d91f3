"""One settings object, and the environment-variable names shared with infra/.

Only `weir.wiring` and the CLI read configuration; everything else is handed what it needs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from weir.errors import WeirError
from weir.metrics import limits

# Environment variables read by the runtime. infra/ imports these names so that the
# deployed functions and the code can never disagree on them.
ENV_DATA_DIR = "WEIR_DATA_DIR"
ENV_RETENTION = "WEIR_RETENTION"
ENV_MINUTE_RETENTION = "WEIR_MINUTE_RETENTION"
ENV_HOUR_RETENTION = "WEIR_HOUR_RETENTION"
ENV_ENVIRONMENT = "WEIR_ENVIRONMENT"
ENV_URL = "WEIR_URL"
ENV_API_KEY = "WEIR_API_KEY"
ENV_EXPORT_BUCKET = "METRICS_BUCKET"  # S3 bucket for hourly exports; unset: a local folder (= ENV_METRICS_BUCKET)
ENV_EXPORT_PREFIX = "WEIR_EXPORT_PREFIX"
ENV_EXPORT_FORMAT = "WEIR_EXPORT_FORMAT"  # jsonl (default) or parquet
# files: the folder `weir serve` watches, the catalog table, what a deletion leaves
ENV_FILES_DIR = "WEIR_FILES_DIR"
ENV_FILES_TABLE = "WEIR_FILES_TABLE"
ENV_FILES_DELETION = "WEIR_FILES_DELETION"
# Exactly the variables the file_indexer Lambda reads; infra/files sets these and no
# others. The region is never set: the Lambda runtime provides AWS_REGION.
FILE_INDEXER_ENV = (ENV_FILES_TABLE, ENV_FILES_DELETION, ENV_ENVIRONMENT)
REGION_ENV = ("AWS_REGION", "AWS_DEFAULT_REGION")  # read, never set

FILES_TABLE_PK = "bucket"
FILES_TABLE_SK = "key"
FILES_TTL_ATTRIBUTE = "expires_at"


def files_table_name(environment: str) -> str:
    """The seed's table name, one per environment."""
    return f"file-metadata-table-{environment}"
# AWS: the deployed functions get these from infra/ (never AWS_REGION: the Lambda runtime
# sets the region itself and boto3 reads it; locally it comes from the AWS config/profile).
ENV_METRICS_TABLE = "METRICS_TABLE"
ENV_SERIES_TABLE = "SERIES_TABLE"
ENV_ALERT_CONFIG_TABLE = "ALERT_CONFIG_TABLE"  # read by the alerts feature
ENV_ALERT_TOPIC_ARN = "ALERT_TOPIC_ARN"  # SNS topic for alert notifications
ENV_METRICS_BUCKET = ENV_EXPORT_BUCKET  # the exports bucket, as the seed names it
# Webhook destinations allowed although private or loopback (weir.metrics.alerts.destinations):
# comma-separated networks, addresses and host names, or `private` for all of them. Unset,
# empty or `none`: public addresses only. Link-local and metadata addresses are refused whatever it says.
ENV_WEBHOOK_ALLOW = "WEIR_WEBHOOK_ALLOW"
# What every metrics Lambda function reads (`Settings.for_lambda`).
LAMBDA_ENV = (ENV_ENVIRONMENT, ENV_RETENTION, ENV_METRICS_TABLE, ENV_SERIES_TABLE)
# Exactly the variables each metrics function reads; infra/ sets these and no others (a
# test runs each handler and records what it reads). Required: the tables of the function
# and, for `exporter`, the bucket; ALERT_TOPIC_ARN unset means alerts go to the log only;
# WEIR_ENVIRONMENT and WEIR_RETENTION have defaults ("aws", 30d); WEIR_WEBHOOK_ALLOW unset
# or empty means webhooks to public addresses only.
FUNCTION_ENV: dict[str, tuple[str, ...]] = {
    "api": LAMBDA_ENV + (ENV_ALERT_CONFIG_TABLE, ENV_WEBHOOK_ALLOW),
    "stream": LAMBDA_ENV,
    "alerts": LAMBDA_ENV + (ENV_ALERT_CONFIG_TABLE, ENV_ALERT_TOPIC_ARN, ENV_WEBHOOK_ALLOW),
    "exporter": LAMBDA_ENV + (ENV_METRICS_BUCKET,),
}
REQUIRED_ENV: dict[str, tuple[str, ...]] = {
    "api": (ENV_METRICS_TABLE, ENV_SERIES_TABLE),
    "stream": (ENV_METRICS_TABLE, ENV_SERIES_TABLE),
    "alerts": (ENV_METRICS_TABLE, ENV_SERIES_TABLE, ENV_ALERT_CONFIG_TABLE),
    "exporter": (ENV_METRICS_TABLE, ENV_SERIES_TABLE, ENV_METRICS_BUCKET),
}
# EventBridge schedules of the scheduled functions. The exporter runs 10 minutes past the
# hour: the hour that just closed is then past the export delay (5 min) and the stream's
# compaction grace (10 min).
SCHEDULES = {"alerts": "rate(1 minute)", "exporter": "cron(10 * * * ? *)"}
DEFAULT_METRICS_TABLE = "weir-metrics"
DEFAULT_SERIES_TABLE = "weir-series"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


class MissingSettingError(WeirError):
    """A deployment is missing configuration; the message names the variable."""

    code = "misconfigured"


def default_data_dir() -> Path:
    return Path(os.environ.get(ENV_DATA_DIR) or Path.cwd() / "data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    retention_seconds: int = limits.DEFAULT_RETENTION_SECONDS  # raw points
    # rollups outlive the points: minute ones (SQLite) and hourly ones (both backends)
    minute_retention_seconds: int = limits.DEFAULT_MINUTE_RETENTION_SECONDS
    hour_retention_seconds: int = limits.DEFAULT_HOUR_RETENTION_SECONDS
    environment: str = field(default_factory=lambda: os.environ.get(ENV_ENVIRONMENT) or "local")
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # How long points stay in the in-memory head before they are packed into chunks.
    flush_seconds: float = 300.0
    flush_points: int = 1_000_000
    # With API keys configured, reads need one too unless this is set.
    open_reads: bool = False
    # Requests per second per API key (or source address), like a usage plan; None: off.
    rate_limit: float | None = None
    # `weir serve`: heavy reads run on this many worker threads, with at most `query_queue`
    # more waiting; beyond that a 503 with Retry-After (weir.http.workpool).
    query_workers: int = 2
    query_queue: int = 32
    # `weir serve`: seconds for a request's line and headers, for its body, and an idle
    # keep-alive connection's life (weir.http.protocol, weir.http.gateway).
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive_timeout: int = 5
    # Series limits of ingest (weir.metrics.cardinality): points that would create a series
    # beyond these are rejected, naming the limit.
    max_series_per_metric: int = 1_000_000
    max_series: int = 2_000_000
    # Hourly exports: to export_bucket on S3 when set, else to export_dir (default <data-dir>/exports).
    exports: bool = True  # run the export scheduler in `weir serve`
    export_dir: Path | None = None
    export_bucket: str | None = None
    export_prefix: str = ""
    export_endpoint_url: str | None = None  # an S3-compatible endpoint (moto, MinIO); None: AWS
    export_format: str = "jsonl"
    export_delay_seconds: float = 300.0
    # `weir serve --config FILE` (TOML): alerting and subscriptions; see weir.configfile.
    config_file: Path | None = None
    alert_topic_arn: str | None = field(default_factory=lambda: os.environ.get(ENV_ALERT_TOPIC_ARN) or None)
    # Webhook destinations (weir.metrics.alerts.destinations): private and loopback addresses
    # allowed (True) or refused (False); None: allowed only when `weir serve` binds to loopback.
    # The config file's [alerts] allow_private_webhooks, when set, wins.
    allow_private_webhooks: bool | None = None
    webhook_allow: tuple[str, ...] = ()  # networks and host names allowed although private

    # files: None watches <data-dir>/bucket; "tombstone" keeps deletions, "remove" hides them
    files_dir: Path | None = None
    files_deletion: str = "tombstone"
    watch_files: bool = True

    # "sqlite" (one data folder) or "aws" (DynamoDB, real or emulated)
    backend: str = "sqlite"
    endpoint_url: str | None = None
    metrics_table: str = DEFAULT_METRICS_TABLE
    series_table: str = DEFAULT_SERIES_TABLE
    alert_table: str | None = None  # with --backend aws: alert rules etc. in DynamoDB; None: no alerting
    create_tables: bool = False  # for emulators: create missing tables at start-up

    @classmethod
    def for_lambda(cls, environ: Mapping[str, str], function: str = "api") -> Settings:
        """The settings of a deployed function, from exactly its variables (FUNCTION_ENV)."""
        from weir.metrics.timeutil import parse_duration

        if function not in FUNCTION_ENV:
            raise MissingSettingError(f"no function {function!r}; known: {', '.join(FUNCTION_ENV)}")
        env = {k: environ.get(k) or None for k in FUNCTION_ENV[function]}  # nothing else is read
        missing = [k for k in REQUIRED_ENV[function] if not env[k]]
        if missing:
            raise MissingSettingError(
                f"environment variable {' and '.join(missing)} not set: the {function} function needs the "
                "names of the resources its stack created (infra/ sets them)"
            )
        retention = env[ENV_RETENTION]
        bucket = env.get(ENV_METRICS_BUCKET)
        allow_private, webhook_allow = parse_webhook_allow(env.get(ENV_WEBHOOK_ALLOW))
        return cls(
            data_dir=Path("/tmp/weir"),  # nosec B108  # Lambda's only writable path; nothing local is stored
            retention_seconds=(
                parse_duration(retention, ENV_RETENTION) if retention else limits.DEFAULT_RETENTION_SECONDS
            ),
            environment=env[ENV_ENVIRONMENT] or "aws",
            backend="aws",
            metrics_table=env[ENV_METRICS_TABLE] or "",
            series_table=env[ENV_SERIES_TABLE] or "",
            alert_table=env.get(ENV_ALERT_CONFIG_TABLE),
            alert_topic_arn=env.get(ENV_ALERT_TOPIC_ARN),
            allow_private_webhooks=allow_private,
            webhook_allow=webhook_allow,
            exports=bucket is not None,
            export_bucket=bucket,
            watch_files=False,
        )

    @property
    def metrics_db(self) -> Path:
        return self.data_dir / "metrics.db"

    @property
    def keys_db(self) -> Path:
        return self.data_dir / "keys.db"

    @property
    def exports_path(self) -> Path:
        return self.export_dir or self.data_dir / "exports"

    @property
    def alerts_db(self) -> Path:
        return self.data_dir / "alerts.db"

    @property
    def files_db(self) -> Path:
        return self.data_dir / "files.db"

    @property
    def files_root(self) -> Path:
        return self.files_dir if self.files_dir is not None else self.data_dir / "bucket"


def parse_webhook_allow(value: str | None) -> tuple[bool, tuple[str, ...]]:
    """WEIR_WEBHOOK_ALLOW: whether every private address is allowed, and the listed networks
    and host names. `none` (what infra/ sets by default), empty or unset: neither."""
    import re

    items = [item for item in re.split(r"[\s,]+", value or "") if item]
    words = {item.lower() for item in items}
    if "none" in words and len(items) > 1:
        raise MissingSettingError(f"{ENV_WEBHOOK_ALLOW}: `none` cannot be combined with other entries")
    listed = tuple(item for item in items if item.lower() not in ("private", "none"))
    if listed:
        from weir.errors import InvalidInputError
        from weir.metrics.alerts.destinations import parse_allow

        try:
            parse_allow(listed)
        except InvalidInputError as exc:
            raise MissingSettingError(f"{ENV_WEBHOOK_ALLOW}: {exc.message.removeprefix('webhook_allow: ')}") from None
    return "private" in words, listed
