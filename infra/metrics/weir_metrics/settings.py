"""The stack's configuration (`pulumi config set <key> <value>`), checked before anything
is created. Every key, its default and its meaning is listed in docs/deploy.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from weir import config as weir_config
from weir.errors import InvalidInputError
from weir.metrics.timeutil import parse_duration
from weir_metrics import contract, naming

REPO = Path(__file__).resolve().parents[3]
DEFAULT_REGION = "us-east-1"
DEFAULT_ZIP = REPO / "build" / "lambda.zip"
# Reserved concurrency: the API's 100 is the seed's; the evaluator and the exporter run
# one at a time; the stream's shards are processed in parallel up to this.
DEFAULT_CONCURRENCY = {"api": 100, "stream": 10, "alerts": 1, "exporter": 1}
# Seconds: API Gateway waits at most 29 s; the evaluator must end within its minute.
TIMEOUTS = {"api": 29, "stream": 120, "alerts": 55, "exporter": 300}
LOG_RETENTION_CHOICES = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                         2922, 3288, 3653)


class ConfigSource(Protocol):
    def get(self, key: str) -> str | None: ...
    def get_int(self, key: str) -> int | None: ...
    def get_float(self, key: str) -> float | None: ...
    def get_bool(self, key: str) -> bool | None: ...
    def get_object(self, key: str) -> object | None: ...
    def require(self, key: str) -> str: ...


class SettingsError(ValueError):
    """A configuration value the stack cannot use; the message names the key."""


@dataclass(frozen=True)
class StackSettings:
    environment: str
    region: str
    owner: str
    cost_centre: str
    retention: str = "30d"
    lambda_zip: Path = DEFAULT_ZIP
    memory_mb: int = 512
    reserved_concurrency: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_CONCURRENCY))
    timeouts: dict[str, int] = field(default_factory=lambda: dict(TIMEOUTS))
    log_retention_days: int = 7
    open_reads: bool = False
    rate_limit: float = 100.0
    burst_limit: int = 200
    quota_per_day: int = 1_000_000
    alert_email: str | None = None
    ops_email: str | None = None
    deletion_protection: bool = False
    export_noncurrent_days: int = 30
    force_destroy_bucket: bool = False
    webhook_allow: str = "none"  # WEIR_WEBHOOK_ALLOW of the api and alerts functions

    @property
    def tags(self) -> dict[str, str]:
        return naming.tags(self.environment, self.owner, self.cost_centre)


def _positive(key: str, value: float | None, default: float) -> float:
    if value is None:
        return default
    if value <= 0:
        raise SettingsError(f"{key}: {value} must be greater than 0")
    return value


def read(cfg: ConfigSource, aws_cfg: ConfigSource, *, stack: str) -> StackSettings:
    environment = naming.check_environment(cfg.get("environment") or stack)
    retention = cfg.get("retention") or "30d"
    try:
        parse_duration(retention, "retention")
    except InvalidInputError as exc:
        raise SettingsError(str(exc)) from None
    concurrency = dict(DEFAULT_CONCURRENCY)
    overrides = cfg.get_object("reservedConcurrency") or {}
    if not isinstance(overrides, dict) or set(overrides) - set(contract.FUNCTIONS):
        raise SettingsError(f"reservedConcurrency: an object with keys among {', '.join(contract.FUNCTIONS)}")
    for fn, value in overrides.items():
        if not isinstance(value, int) or (value < 0 and value != -1):
            raise SettingsError(f"reservedConcurrency.{fn}: a number >= 0, or -1 for no reservation")
        concurrency[fn] = value
    retention_days = cfg.get_int("logRetentionDays") or 7
    if retention_days not in LOG_RETENTION_CHOICES:
        raise SettingsError(f"logRetentionDays: {retention_days} is not one CloudWatch accepts "
                            f"({', '.join(map(str, LOG_RETENTION_CHOICES))})")
    zip_path = Path(cfg.get("lambdaZip") or DEFAULT_ZIP)
    webhook_allow = cfg.get("webhookAllow") or "none"
    try:
        weir_config.parse_webhook_allow(webhook_allow)
    except weir_config.MissingSettingError as exc:
        raise SettingsError(f"webhookAllow: {exc.message.removeprefix(weir_config.ENV_WEBHOOK_ALLOW + ': ')}") from None
    return StackSettings(
        environment=environment,
        region=aws_cfg.get("region") or DEFAULT_REGION,
        owner=cfg.require("owner"),
        cost_centre=cfg.require("costCentre"),
        retention=retention,
        lambda_zip=zip_path if zip_path.is_absolute() else (REPO / zip_path),
        memory_mb=int(_positive("memoryMb", cfg.get_int("memoryMb"), 512)),
        reserved_concurrency=concurrency,
        log_retention_days=retention_days,
        open_reads=bool(cfg.get_bool("openReads")),
        rate_limit=_positive("rateLimit", cfg.get_float("rateLimit"), 100.0),
        burst_limit=int(_positive("burstLimit", cfg.get_int("burstLimit"), 200)),
        quota_per_day=int(_positive("quotaPerDay", cfg.get_int("quotaPerDay"), 1_000_000)),
        alert_email=cfg.get("alertEmail") or None,
        ops_email=cfg.get("opsEmail") or None,
        deletion_protection=bool(cfg.get_bool("deletionProtection")),
        export_noncurrent_days=int(_positive("exportNoncurrentDays", cfg.get_int("exportNoncurrentDays"), 30)),
        force_destroy_bucket=bool(cfg.get_bool("forceDestroyBucket")),
        webhook_allow=webhook_allow,
    )


def check_bundle(path: Path) -> Path:
    """The Lambda bundle must exist before `pulumi up`: say how to build it, not a stack trace."""
    if not path.is_file():
        raise SettingsError(f"the Lambda bundle {path} does not exist: run `make lambda-zip` in the repository "
                            "first (or set lambdaZip to where yours is)")
    return path
