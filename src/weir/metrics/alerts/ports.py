"""Alerting's interfaces to its backends: the alert store (rules, states, events, outbox,
subscriptions) and a notifier. Implemented by SQLite and DynamoDB; one contract suite
(tests/backends/test_alert_store_contract.py) runs against both."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from weir.errors import ConflictError
from weir.metrics.alerts.model import AlertEvent, Delivery, EventOut, Rule, State, Subscription

# The conflicts every alert store reports, in the same words.


def rule_name_taken(name: str, owner: str) -> ConflictError:
    """`put_rule` of a rule whose name another rule (`owner`, its id) has."""
    return ConflictError(f"name: another alert rule ({owner}) is already called {name!r}")


def config_subscriptions_clash(ids: list[str]) -> ConflictError:
    """`replace_config_subscriptions` with ids the API already uses."""
    return ConflictError(f"subscriptions: ids {ids} from the config file are already used by the API")


@dataclass(slots=True)
class StateRecord:
    """The stored state of one (rule, group); `version` grows by one per recorded event."""

    group_key: str
    group: dict[str, str]
    state: State
    since_ns: int
    reason: str = ""
    value: float | None = None
    last_notified_ns: int | None = None
    version: int = 0


@dataclass(slots=True)
class StateChange:
    """What one evaluation wants recorded for one group.

    Applied only if the stored row still has `expected_version` (0: no row yet), so two
    evaluators racing on the same rule record a transition once, never twice.
    """

    record: StateRecord
    expected_version: int
    event: AlertEvent | None = None
    targets: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PendingDelivery:
    id: int
    event: AlertEvent
    target: str
    attempts: int


class AlertStore(Protocol):
    """The alert-configuration port: rules, their states, events, the outbox, subscriptions."""

    def put_rule(self, rule: Rule, *, reset_states: bool = False) -> None:
        """Create or replace; raises ConflictError when another rule has the same name."""

    def get_rule(self, rule_id: str) -> Rule | None: ...

    def list_rules(self) -> list[Rule]: ...

    def delete_rule(self, rule_id: str) -> bool:
        """Delete the rule and its states; its events and pending deliveries are kept."""

    def get_states(self, rule_id: str) -> list[StateRecord]: ...

    def record(self, rule_id: str, rule_version: int, changes: list[StateChange]) -> list[AlertEvent]:
        """Apply the changes whose version still matches, in one transaction with their events
        and one pending delivery per target; return the events actually recorded."""

    def events(
        self, *, rule_id: str | None = None, kind: str | None = None, limit: int = 100
    ) -> list[EventOut]:
        """Newest first, each with its deliveries."""

    def due_deliveries(self, now_ns: int, limit: int = 100, *, skip_targets: Collection[str] = (),
                       skip_ids: Collection[int] = ()) -> list[PendingDelivery]:
        """Pending deliveries due by `now_ns`, earliest first, except those to `skip_targets`
        (held back: a busy or failing target) and those in `skip_ids` (already in flight)."""

    def next_due_ns(self) -> int | None:
        """When the earliest pending delivery is due, or None when none is pending."""

    def deliveries_done(self, delivery_ids: list[int], now_ns: int) -> None:
        """Mark deliveries as done, in one transaction (one delivery, or the log's batch)."""

    def delivery_failed(self, delivery_id: int, error: str, next_attempt_ns: int | None) -> None:
        """Record a failed attempt; None as the next attempt means it has given up."""

    def last_delivery(self, target: str) -> Delivery | None: ...

    def put_subscription(self, sub: Subscription) -> None: ...

    def get_subscription(self, sub_id: str) -> Subscription | None: ...

    def list_subscriptions(self) -> list[Subscription]: ...

    def delete_subscription(self, sub_id: str) -> bool: ...

    def replace_config_subscriptions(self, subs: list[Subscription]) -> None:
        """Make the subscriptions from the config file exactly these (API ones untouched)."""

    def close(self) -> None: ...


class Notifier(Protocol):
    """Sends one alert event somewhere; raises DeliveryError (retried later) on failure."""

    def send(self, event: AlertEvent) -> None: ...
