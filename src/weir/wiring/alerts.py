"""The `alerts` Lambda: every minute, evaluate every rule and deliver the outbox."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from weir.config import Settings
from weir.wiring.aws import AwsClients, dynamo_store

if TYPE_CHECKING:
    from weir.metrics.alerts.evaluate import AlertEngine
    from weir.metrics.alerts.notify import Dispatcher, Router


@dataclass(frozen=True)
class AlertsFunction:
    engine: AlertEngine
    dispatcher: Dispatcher
    router: Router  # the engine's: reloaded before each pass (the `api` function changes subscriptions)


def build_alerts(settings: Settings, *, clients: AwsClients | None = None,
                 clock: Callable[[], float] = time.time) -> AlertsFunction:
    """The engine over the metric store and the alert table; SNS when a topic is set.
    Deliveries retry on the schedule's own rhythm (`SCHEDULED_RETRY`)."""
    from weir.backends.aws.alerts import DynamoAlertStore
    from weir.config import MissingSettingError
    from weir.metrics.alerts.notify import SCHEDULED_RETRY
    from weir.wiring.alerting import alert_core

    if not settings.alert_table:
        raise MissingSettingError("the alerts function needs an alert table")
    clients = clients or AwsClients(settings.endpoint_url)
    store = dynamo_store(settings, clients, clock=clock)
    core = alert_core(settings, DynamoAlertStore(clients.get("dynamodb"), settings.alert_table), store, None,
                      serve=False, retry=SCHEDULED_RETRY, clients=clients, clock=clock)
    return AlertsFunction(core.engine, core.dispatcher, core.router)
