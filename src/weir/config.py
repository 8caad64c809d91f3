"""One settings object, and the environment-variable names shared with infra/.

Only `wiring.py` and the CLI read configuration; everything else is handed what it needs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from weir.metrics import limits

# Environment variables read by the runtime. infra/ imports these names so that the
# deployed functions and the code can never disagree on them.
ENV_DATA_DIR = "WEIR_DATA_DIR"
ENV_RETENTION = "WEIR_RETENTION"
ENV_ENVIRONMENT = "WEIR_ENVIRONMENT"
ENV_URL = "WEIR_URL"
ENV_ALERT_TOPIC_ARN = "WEIR_ALERT_TOPIC_ARN"  # SNS topic for alert notifications

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080


def default_data_dir() -> Path:
    return Path(os.environ.get(ENV_DATA_DIR) or Path.cwd() / "data")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=default_data_dir)
    retention_seconds: int = limits.DEFAULT_RETENTION_SECONDS
    environment: str = field(default_factory=lambda: os.environ.get(ENV_ENVIRONMENT) or "local")
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    # How long points stay in the in-memory head before they are packed into chunks.
    flush_seconds: float = 300.0
    flush_points: int = 1_000_000
    # `weir serve --config FILE` (TOML): alerting and subscriptions; see weir.configfile.
    config_file: Path | None = None
    alert_topic_arn: str | None = field(default_factory=lambda: os.environ.get(ENV_ALERT_TOPIC_ARN) or None)

    @property
    def metrics_db(self) -> Path:
        return self.data_dir / "metrics.db"

    @property
    def alerts_db(self) -> Path:
        return self.data_dir / "alerts.db"
