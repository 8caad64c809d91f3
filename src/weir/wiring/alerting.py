"""Alerting, built as a value over an alert store of either backend.

`alert_core` builds what evaluates and delivers (engine, dispatcher, the subscription
router); `alert_service` the API's side over it. `weir serve` puts its worker threads
between the two (the service tells the worker when rules change); the Lambda functions
take what they use: `alerts` the core, `api` the service. The `--config` file and the
retry policy are read here once for every builder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from weir import config
from weir.config import MissingSettingError, Settings
from weir.errors import InvalidInputError

if TYPE_CHECKING:
    from weir.configfile import FileConfig
    from weir.metrics.alerts.destinations import Resolver, WebhookPolicy
    from weir.metrics.alerts.evaluate import AlertEngine
    from weir.metrics.alerts.notify import Dispatcher, RetryPolicy, Router
    from weir.metrics.alerts.ports import AlertStore
    from weir.metrics.alerts.service import AlertService
    from weir.metrics.ports import MetricStore
    from weir.wiring.aws import AwsClients


def file_config(settings: Settings) -> FileConfig:
    """The `--config` file's settings, or the defaults when there is none."""
    from weir import configfile

    return configfile.load(settings.config_file) if settings.config_file else configfile.FileConfig()


def retry_policy(cfg: FileConfig) -> RetryPolicy:
    from weir.metrics.alerts.notify import RetryPolicy

    return RetryPolicy(cfg.alerts.max_attempts, cfg.alerts.backoff_seconds, cfg.alerts.backoff_max_seconds)


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
        from weir.backends.webhook import system_resolver

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


@dataclass(frozen=True)
class AlertCore:
    """What evaluates rules and delivers their events, over one alert store."""

    store: AlertStore
    engine: AlertEngine
    dispatcher: Dispatcher
    router: Router
    destinations: WebhookPolicy


def alert_core(
    settings: Settings,
    alerts: AlertStore,
    metrics: MetricStore,
    cfg: FileConfig | None,
    *,
    serve: bool,
    retry: RetryPolicy,
    clients: AwsClients,
    clock: Callable[[], float] = time.time,
) -> AlertCore:
    """Engine, dispatcher (log, SNS when a topic is set, webhooks) and router.

    With a config file (`weir serve`), its subscriptions replace the stored config ones.
    An SNS client is created (from `clients`) only when a topic is set.
    """
    from weir.backends.log import LogNotifier
    from weir.backends.webhook import WebhookNotifier
    from weir.metrics.alerts.circuit import CircuitPolicy, Circuits
    from weir.metrics.alerts.evaluate import AlertEngine
    from weir.metrics.alerts.notify import LOG_TARGET, SNS_TARGET, Dispatcher, Router
    from weir.metrics.alerts.service import subscription_from
    from weir.metrics.timeutil import NS

    destinations = webhook_policy(settings, cfg, serve=serve)
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
        try:
            from weir.backends.aws.sns import SnsNotifier
        except ModuleNotFoundError as exc:  # a message, not a traceback (as for an S3 export bucket)
            if (exc.name or "").partition(".")[0] not in ("boto3", "botocore"):
                raise
            raise MissingSettingError(
                f"publishing alerts to the SNS topic {topic!r} needs boto3, which is not installed: "
                f"pip install 'weir[aws]' (or leave out sns_topic_arn and unset {config.ENV_ALERT_TOPIC_ARN})"
            ) from None

        notifiers[SNS_TARGET] = SnsNotifier(clients.get("sns"), topic)
    router = Router(alerts, sns=bool(topic))
    engine = AlertEngine(metrics, alerts, router, environment=settings.environment, clock=clock)
    timing = cfg.alerts if cfg is not None else None
    # The pause doubles up to the longest retry backoff: no target waits longer than a retry would.
    circuits = Circuits(CircuitPolicy(timing.circuit_failures, timing.circuit_open_seconds,
                                      max(timing.circuit_open_seconds, timing.backoff_max_seconds))
                        if timing is not None else CircuitPolicy(), clock=clock)
    dispatcher = Dispatcher(alerts, notifiers, partial(WebhookNotifier.for_subscription, policy=destinations),
                            retry=retry, clock=clock, circuits=circuits)
    return AlertCore(alerts, engine, dispatcher, router, destinations)


def _nothing() -> None:
    """The rules-changed hook when no background worker runs: nothing to wake."""


def alert_service(core: AlertCore, metrics: MetricStore, *, on_rules_changed: Callable[[], None] = _nothing,
                  clock: Callable[[], float] = time.time) -> AlertService:
    """The API's alerting: rules and subscriptions over the core's store and router."""
    from weir.metrics.alerts.service import AlertService

    return AlertService(core.store, metrics, core.router, destinations=core.destinations,
                        on_rules_changed=on_rules_changed, last_evaluated=core.engine.last_evaluated.get, clock=clock)
