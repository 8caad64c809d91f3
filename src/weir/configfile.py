"""The `weir serve --config FILE` file (TOML): alerting settings and webhook subscriptions.

```toml
[alerts]
evaluate_every = 60          # seconds between evaluations of every rule (missing data)
min_interval = 1.0           # at most one ingest-triggered evaluation pass per this many seconds
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:weir-alerts"   # optional, needs boto3
max_attempts = 8             # deliveries are retried with exponential backoff...
backoff_seconds = 1.0        # ...starting here...
backoff_max_seconds = 300.0  # ...up to this, then marked failed
circuit_failures = 5         # a target failing this many times in a row is not tried...
circuit_open_seconds = 30.0  # ...for this long (doubling up to backoff_max_seconds), then probed once
# Webhook destinations (weir.metrics.alerts.destinations): link-local, metadata, multicast
# and reserved addresses are always refused; private and loopback ones are allowed when
# `weir serve` binds to loopback (the default) and refused otherwise, unless set here.
allow_private_webhooks = false                        # default: true on loopback only
webhook_allow = ["10.1.2.0/24", "hooks.internal.example", "*.svc.internal.example"]

[[subscriptions]]
id = "ops-critical"
url = "http://127.0.0.1:9000/alerts"
filter_policy = { severity = ["critical"] }   # or the same policy as JSON text
secret = "a-long-shared-secret-for-hmac"      # optional: X-Weir-Signature
timeout = 5
```

Unknown keys are errors, not ignored, so a typo cannot silently switch something off.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from weir.errors import InvalidInputError
from weir.metrics.alerts.destinations import parse_allow
from weir.metrics.alerts.model import SubscriptionSpec
from weir.metrics.alerts.service import subscription_from


class AlertsConfig(msgspec.Struct, forbid_unknown_fields=True):
    evaluate_every: Annotated[float, Meta(ge=1, le=3600)] = 60.0
    min_interval: Annotated[float, Meta(ge=0, le=600)] = 1.0
    sns_topic_arn: Annotated[str, Meta(pattern=r"^arn:aws[a-z-]*:sns:")] | None = None
    max_attempts: Annotated[int, Meta(ge=1, le=100)] = 8
    backoff_seconds: Annotated[float, Meta(gt=0, le=3600)] = 1.0
    backoff_max_seconds: Annotated[float, Meta(gt=0, le=86_400)] = 300.0
    circuit_failures: Annotated[int, Meta(ge=1, le=1000)] = 5
    circuit_open_seconds: Annotated[float, Meta(gt=0, le=3600)] = 30.0
    allow_private_webhooks: bool | None = None  # None: allowed when `weir serve` binds to loopback
    webhook_allow: list[str] = []  # networks and host names allowed although private


class ConfigSubscription(SubscriptionSpec, kw_only=True, forbid_unknown_fields=True):
    id: Annotated[str, Meta(pattern=r"^[A-Za-z0-9_.-]{1,64}$", description="Stable id, used in delivery records")]


class FileConfig(msgspec.Struct, forbid_unknown_fields=True):
    alerts: AlertsConfig = msgspec.field(default_factory=AlertsConfig)
    subscriptions: list[ConfigSubscription] = []


def load(path: Path) -> FileConfig:
    """Parse and validate the file; raises InvalidInputError naming the file and the field."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"config {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInputError(f"config {path}: not valid TOML ({exc})") from None
    try:
        cfg = msgspec.convert(raw, FileConfig)
    except msgspec.ValidationError as exc:
        text, _, where = str(exc).partition(" - at `")
        where = where.rstrip("`").removeprefix("$").lstrip(".")
        raise InvalidInputError(f"config {path}: {where + ': ' if where else ''}{text}") from None
    try:
        parse_allow(cfg.alerts.webhook_allow)
    except InvalidInputError as exc:
        raise InvalidInputError(f"config {path}: alerts.{exc.message}") from None
    seen: set[str] = set()
    for i, sub in enumerate(cfg.subscriptions):
        if sub.id in seen:
            raise InvalidInputError(f"config {path}: subscriptions[{i}].id: {sub.id!r} is used twice")
        seen.add(sub.id)
        try:
            subscription_from(sub, sub.id, "config", 0, destinations=None)  # the URL's form; addresses: wiring
        except InvalidInputError as exc:
            raise InvalidInputError(f"config {path}: subscriptions[{i}] ({sub.id}): {exc.message}") from None
    return cfg
