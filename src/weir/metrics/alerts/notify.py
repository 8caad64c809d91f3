"""Routing alert events to targets, and delivering them from the outbox.

An event's targets are fixed when it is recorded (in the same transaction as the
transition): `log` always, `sns` when a topic is configured, and `webhook:<id>` for each
local subscription whose filter policy matches the event's message attributes -- the
same attributes the SNS adapter publishes, so a policy routes alike in both places.

The dispatcher then works through the persisted outbox: each delivery is attempted,
and on failure retried with exponential backoff until `max_attempts`, after which it is
marked failed. A PermanentDeliveryError (the subscription was deleted, the webhook
destination policy refuses the URL) is marked failed at once: retrying cannot help.
Either way the outcome is stored and shown by `GET /alerts/events`, and nothing is
dropped silently. Delivery is at least once: each message carries its
`event_id`, stable across retries and restarts, for receivers to drop a repeat.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

import msgspec

from weir.errors import DeliveryError
from weir.metrics.alerts.circuit import Circuits
from weir.metrics.alerts.filterpolicy import matches
from weir.metrics.alerts.model import AlertEvent, Subscription
from weir.metrics.alerts.ports import AlertStore, Notifier, PendingDelivery
from weir.metrics.timeutil import NS

log = logging.getLogger(__name__)


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help: the delivery is marked failed at once, with this reason."""


class TargetGoneError(PermanentDeliveryError):
    """The subscription was deleted before the event was delivered."""


LOG_TARGET = "log"
SNS_TARGET = "sns"
WEBHOOK_PREFIX = "webhook:"
# Targets whose delivery never waits on the network: sent on the dispatcher's own thread.
INLINE_TARGETS = frozenset({LOG_TARGET})

_encode = msgspec.json.Encoder().encode


def message(event: AlertEvent) -> bytes:
    """The JSON body of a notification (SNS Message, webhook POST body)."""
    return _encode(event)


def attributes(event: AlertEvent) -> dict[str, str | float]:
    """Message attributes for filter policies: strings, plus the value as a Number."""
    attrs: dict[str, str | float] = {
        "severity": event.severity,
        "metric": event.metric,
        "rule_id": event.rule_id,
        "state": event.state,
        "previous_state": event.previous_state,
        "environment": event.environment,
        "kind": event.kind,
    }
    if event.value is not None and abs(event.value) <= 1e9:
        attrs["value"] = event.value
    return attrs


class Router:
    """Which targets an event goes to; reloads subscriptions when told they changed."""

    def __init__(self, alerts: AlertStore, *, sns: bool = False) -> None:
        self.alerts = alerts
        self.sns = sns
        self._subs: list[Subscription] | None = None
        self._lock = threading.Lock()

    def reload(self) -> None:
        with self._lock:
            self._subs = None

    def subscriptions(self) -> list[Subscription]:
        with self._lock:
            if self._subs is None:
                self._subs = self.alerts.list_subscriptions()
            return self._subs

    def __call__(self, event: AlertEvent) -> list[str]:
        targets = [LOG_TARGET]
        if self.sns:
            targets.append(SNS_TARGET)
        attrs = attributes(event)
        targets += [WEBHOOK_PREFIX + s.id for s in self.subscriptions() if matches(s.filter_policy, attrs)]
        return targets


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 1.0
    max_seconds: float = 300.0

    def delay_ns(self, attempts: int) -> int:
        """Wait after the `attempts`-th failure: base, 2 x base, 4 x base ... capped."""
        return int(min(self.max_seconds, self.base_seconds * 2 ** (attempts - 1)) * NS)


# On a one-minute schedule (the `alerts` function) retries happen at most once a minute, so
# second-scale backoff means nothing and eight attempts would give up within minutes of an
# SNS outage: 1, 2, 4, 8 minutes then every 15, for about 11 hours, before a delivery is
# marked failed.
SCHEDULED_RETRY = RetryPolicy(max_attempts=48, base_seconds=60.0, max_seconds=900.0)


class Dispatcher:
    """Delivers the outbox: each delivery's outcome is recorded as soon as it is known, and a
    target that keeps failing is held back by its circuit (`weir.metrics.alerts.circuit`).

    `deliver_due` works through what is due one delivery at a time (the scheduled `alerts`
    function). `weir serve` instead fetches with `due` and runs each target on threads of its
    own (`attempt` is safe from any thread), so one hanging webhook holds up no other target.
    """

    def __init__(
        self,
        alerts: AlertStore,
        notifiers: dict[str, Notifier],
        webhook: Callable[[Subscription], Notifier],
        *,
        retry: RetryPolicy = RetryPolicy(),
        clock: Callable[[], float] = time.time,
        circuits: Circuits | None = None,
    ) -> None:
        self.alerts = alerts
        self.notifiers = notifiers
        self.webhook = webhook
        self.retry = retry
        self.clock = clock
        self.circuits = circuits or Circuits(clock=clock)
        self.sent = 0  # deliveries that succeeded, and attempts that failed (for metrics)
        self.failures = 0
        self._count = threading.Lock()

    def due(self, limit: int = 100, *, skip_targets: Collection[str] = (),
            skip_ids: Collection[int] = ()) -> list[PendingDelivery]:
        """Deliveries due now, leaving out targets whose circuit is open and what is named."""
        skip = {*skip_targets, *self.circuits.blocked()}
        return self.alerts.due_deliveries(int(self.clock() * NS), limit, skip_targets=sorted(skip),
                                          skip_ids=sorted(skip_ids))

    def deliver_due(self, limit: int = 100) -> int:
        """Attempt every delivery that is due, the log's first; returns how many were fetched."""
        due = self.due(limit)
        self.deliver_inline([d for d in due if d.target in INLINE_TARGETS])
        for d in due:
            if d.target not in INLINE_TARGETS:
                self.attempt(d)
        return len(due)

    def deliver_inline(self, deliveries: list[PendingDelivery]) -> None:
        """Deliveries to targets that cannot block (the log): sent at once, their successes
        recorded together right after."""
        done = [d.id for d in deliveries if self._send(d)]
        self.alerts.deliveries_done(done, int(self.clock() * NS))

    def attempt(self, d: PendingDelivery) -> bool:
        """Send one delivery and record its outcome now; any thread. False when it failed, or
        was not tried because its target's circuit is open (it then stays pending, its
        attempts uncounted)."""
        if not self.circuits.allows(d.target):
            return False
        if not self._send(d):
            return False
        self.alerts.deliveries_done([d.id], int(self.clock() * NS))
        return True

    def _send(self, d: PendingDelivery) -> bool:
        try:
            self._notifier(d.target).send(d.event)
        except Exception as exc:  # any failure is recorded and retried, never raised
            error = exc.message if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}"
            attempts = d.attempts + 1
            now = int(self.clock() * NS)
            permanent = isinstance(exc, PermanentDeliveryError)
            final = attempts >= self.retry.max_attempts or permanent
            retry_at = None if final else now + self.retry.delay_ns(attempts)
            with self._count:
                self.failures += 1
            if permanent:
                self.circuits.done_without_verdict(d.target)
            else:
                self.circuits.failed(d.target)
            self.alerts.delivery_failed(d.id, error, retry_at)
            log.warning(
                "alert %s to %s failed (attempt %d%s): %s", d.event.event_id, d.target, attempts,
                "" if retry_at else ", giving up", error,
            )
            return False
        self.circuits.succeeded(d.target)
        with self._count:
            self.sent += 1
        return True

    def _notifier(self, target: str) -> Notifier:
        if target in self.notifiers:
            return self.notifiers[target]
        if target.startswith(WEBHOOK_PREFIX):
            sub = self.alerts.get_subscription(target[len(WEBHOOK_PREFIX) :])
            if sub is None:
                raise TargetGoneError("the subscription was deleted before this event was delivered")
            return self.webhook(sub)
        raise DeliveryError(f"no notifier is configured for target {target!r}")
