"""One settings object, and the environment-variable names shared with infra/.

Only `wiring.py` and the CLI read configuration; everything else is handed what it needs.
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
ENV_ENVIRONMENT = "WEIR_ENVIRONMENT"
ENV_URL = "WEIR_URL"
# AWS: the deployed functions get these from infra/ (never AWS_REGION: the Lambda runtime
# sets the region itself and boto3 reads it; locally it comes from the AWS config/profile).
ENV_METRICS_TABLE = "METRICS_TABLE"
ENV_SERIES_TABLE = "SERIES_TABLE"
ENV_ALERT_CONFIG_TABLE = "ALERT_CONFIG_TABLE"  # read by the alerts feature
ENV_ALERT_TOPIC_ARN = "ALERT_TOPIC_ARN"  # read by the alerts feature
ENV_METRICS_BUCKET = "METRICS_BUCKET"  # read by the exports feature
# What the Lambda functions of this code read; infra/ sets exactly these.
LAMBDA_ENV = (ENV_ENVIRONMENT, ENV_RETENTION, ENV_METRICS_TABLE, ENV_SERIES_TABLE)
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
    retention_seconds: int = limits.DEFAULT_RETENTION_SECONDS
    environment: str = "local"
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # How long points stay in the in-memory head before they are packed into chunks.
    flush_seconds: float = 300.0
    flush_points: int = 1_000_000
    # "sqlite" (one data folder) or "aws" (DynamoDB, real or emulated)
    backend: str = "sqlite"
    endpoint_url: str | None = None
    metrics_table: str = DEFAULT_METRICS_TABLE
    series_table: str = DEFAULT_SERIES_TABLE
    create_tables: bool = False  # for emulators: create missing tables at start-up

    @classmethod
    def for_lambda(cls, environ: Mapping[str, str]) -> "Settings":
        """The settings of a deployed function, from the variables infra/ sets (LAMBDA_ENV)."""
        from weir.metrics.timeutil import parse_duration

        missing = [k for k in (ENV_METRICS_TABLE, ENV_SERIES_TABLE) if not environ.get(k)]
        if missing:
            raise MissingSettingError(
                f"environment variable {' and '.join(missing)} not set: the function needs the table "
                "names its stack created (infra/ sets them)"
            )
        retention = environ.get(ENV_RETENTION)
        return cls(
            data_dir=Path("/tmp/weir"),
            retention_seconds=(
                parse_duration(retention, ENV_RETENTION) if retention else limits.DEFAULT_RETENTION_SECONDS
            ),
            environment=environ.get(ENV_ENVIRONMENT) or "aws",
            backend="aws",
            metrics_table=environ[ENV_METRICS_TABLE],
            series_table=environ[ENV_SERIES_TABLE],
        )

    @property
    def metrics_db(self) -> Path:
        return self.data_dir / "metrics.db"
