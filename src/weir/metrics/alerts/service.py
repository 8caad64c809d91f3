"""What the API and the CLI do with alert rules and subscriptions.

Bodies are decoded straight into the msgspec models, and msgspec's messages are turned
into `field: problem` text with the accepted values, so every refusal is a 4xx a person
can act on. A rule on a metric that has never been written is refused unless asked for
(`allow_unknown_metric`), since a typo there would otherwise give a rule that never fires.
A webhook URL must pass the destination policy (`destinations.py`: never a metadata
service, no private or loopback host unless allowed), checked again at each delivery.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from typing import Literal

import msgspec

from weir.errors import ConflictError, InvalidInputError, NotFoundError
from weir.metrics.alerts.destinations import WebhookPolicy, parse_url
from weir.metrics.alerts.filterpolicy import parse_policy
from weir.metrics.alerts.model import (
    COMPARISONS,
    STATISTICS,
    EventList,
    GroupState,
    Rule,
    RuleList,
    RuleOut,
    RuleSpec,
    Subscription,
    SubscriptionList,
    SubscriptionOut,
    SubscriptionSpec,
    rule_out,
)
from weir.metrics.alerts.notify import WEBHOOK_PREFIX, Router
from weir.metrics.alerts.ports import AlertStore
from weir.metrics.ports import MetricStore
from weir.metrics.timeutil import NS, ns_to_rfc3339

_rule_spec = msgspec.json.Decoder(RuleSpec)
_sub_spec = msgspec.json.Decoder(SubscriptionSpec)
_CHOICES = {
    "statistic": STATISTICS,
    "comparison": COMPARISONS,
    "missing_data": ("missing", "ignore", "breaching", "not_breaching"),
    "severity": ("info", "warning", "critical"),
}
MAX_LIMIT = 1000
_WATCH = ("metric", "dimensions", "group_by", "statistic", "period")


def decode(decoder: msgspec.json.Decoder, body: bytes | str):
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:  # a subclass of DecodeError: catch it first
        raise InvalidInputError(_clean(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidInputError(f"body is not valid JSON: {exc}") from None


def _clean(msg: str) -> str:
    text, _, where = msg.partition(" - at `")
    field = where.rstrip("`").removeprefix("$").lstrip(".")
    text = text.replace("`", "")
    if text[:1].isupper() and text[1:2].islower():
        text = text[:1].lower() + text[1:]
    if field in _CHOICES and text.startswith("invalid enum value"):
        text += f"; choose from {', '.join(_CHOICES[field])}"
    if field == "threshold" and "out of range" in text:
        text = "must be a finite number"
    return f"{field}: {text}" if field else text


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(6)


class AlertService:
    def __init__(
        self,
        alerts: AlertStore,
        metrics: MetricStore,
        router: Router,
        *,
        destinations: WebhookPolicy,
        on_rules_changed: Callable[[], None] = lambda: None,
        last_evaluated: Callable[[str], int | None] = lambda rule_id: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.alerts = alerts
        self.metrics = metrics
        self.router = router
        self.destinations = destinations
        self.on_rules_changed = on_rules_changed
        self.last_evaluated = last_evaluated
        self.clock = clock

    # -- rules --------------------------------------------------------------------------

    def create_rule(self, body: bytes | str, *, allow_unknown_metric: bool = False) -> RuleOut:
        spec = decode(_rule_spec, body)
        self._check_metric(spec, allow_unknown_metric)
        now = int(self.clock() * NS)
        rule = Rule(id=new_id("r-"), spec=spec, created_ns=now, updated_ns=now)
        self.alerts.put_rule(rule)
        self.on_rules_changed()
        return self._out(rule)

    def replace_rule(self, rule_id: str, body: bytes | str, *, allow_unknown_metric: bool = False) -> RuleOut:
        old = self._rule(rule_id)
        spec = decode(_rule_spec, body)
        if spec.metric != old.spec.metric:
            self._check_metric(spec, allow_unknown_metric)
        rule = Rule(id=old.id, spec=spec, created_ns=old.created_ns, updated_ns=int(self.clock() * NS),
                    version=old.version + 1)
        # A rule that now watches something else starts afresh; a new threshold keeps the states.
        reset = any(getattr(spec, f) != getattr(old.spec, f) for f in _WATCH)
        self.alerts.put_rule(rule, reset_states=reset)
        self.on_rules_changed()
        return self._out(rule)

    def get_rule(self, rule_id: str) -> RuleOut:
        return self._out(self._rule(rule_id))

    def list_rules(self) -> RuleList:
        return RuleList([self._out(r) for r in self.alerts.list_rules()])

    def delete_rule(self, rule_id: str) -> None:
        if not self.alerts.delete_rule(rule_id):
            raise NotFoundError(f"no alert rule {rule_id!r}; GET /alerts lists them")

    def history(self, rule_id: str, params: Mapping[str, str]) -> EventList:
        self._rule(rule_id)
        _only(params, {"limit"})
        return EventList(self.alerts.events(rule_id=rule_id, kind="transition", limit=_limit(params)))

    def events(self, params: Mapping[str, str]) -> EventList:
        _only(params, {"limit", "rule_id", "kind"})
        kind = params.get("kind")
        if kind not in (None, "transition", "renotify"):
            raise InvalidInputError("kind: choose transition or renotify")
        return EventList(self.alerts.events(rule_id=params.get("rule_id"), kind=kind, limit=_limit(params)))

    def _rule(self, rule_id: str) -> Rule:
        rule = self.alerts.get_rule(rule_id)
        if rule is None:
            raise NotFoundError(f"no alert rule {rule_id!r}; GET /alerts lists them")
        return rule

    def _check_metric(self, spec: RuleSpec, allow_unknown: bool) -> None:
        if not allow_unknown and not self.metrics.count_selected(spec.metric, {}, 0):  # not every series
            raise InvalidInputError(
                f"metric: {spec.metric!r} has no series; check the name (GET /metrics lists them) or pass "
                "allow_unknown_metric=true to create the rule before its first datapoint"
            )

    def _out(self, rule: Rule) -> RuleOut:
        states = [
            GroupState(group=s.group, state=s.state, since=ns_to_rfc3339(s.since_ns), reason=s.reason,
                       value=s.value)
            for s in self.alerts.get_states(rule.id)
        ]
        if not states and not rule.spec.group_by:
            states = [GroupState(group={}, state="INSUFFICIENT_DATA", since=ns_to_rfc3339(rule.created_ns),
                                 reason="not evaluated yet")]
        last = self.last_evaluated(rule.id)
        return rule_out(rule, states, ns_to_rfc3339(last) if last else None)

    # -- subscriptions ------------------------------------------------------------------

    def create_subscription(self, body: bytes | str) -> SubscriptionOut:
        sub = subscription_from(decode(_sub_spec, body), new_id("s-"), "api", int(self.clock() * NS),
                                destinations=self.destinations)
        self.alerts.put_subscription(sub)
        self.router.reload()
        return self._sub_out(sub)

    def list_subscriptions(self) -> SubscriptionList:
        return SubscriptionList([self._sub_out(s) for s in self.alerts.list_subscriptions()])

    def get_subscription(self, sub_id: str) -> SubscriptionOut:
        return self._sub_out(self._sub(sub_id))

    def delete_subscription(self, sub_id: str) -> None:
        if self._sub(sub_id).source == "config":
            raise ConflictError(
                f"subscription {sub_id!r} comes from the config file; remove it there and restart"
            )
        self.alerts.delete_subscription(sub_id)
        self.router.reload()

    def _sub(self, sub_id: str) -> Subscription:
        sub = self.alerts.get_subscription(sub_id)
        if sub is None:
            raise NotFoundError(f"no subscription {sub_id!r}; GET /subscriptions lists them")
        return sub

    def _sub_out(self, s: Subscription) -> SubscriptionOut:
        return SubscriptionOut(
            id=s.id, name=s.name, url=s.url, filter_policy=s.filter_policy, timeout=s.timeout, source=s.source,
            created_at=ns_to_rfc3339(s.created_ns), signed=s.secret is not None,
            last_delivery=self.alerts.last_delivery(WEBHOOK_PREFIX + s.id),
        )


def subscription_from(
    spec: SubscriptionSpec, sub_id: str, source: Literal["api", "config"], now_ns: int,
    *, destinations: WebhookPolicy | None,
) -> Subscription:
    """Validate a subscription spec (URL, filter policy) into a stored subscription.

    With `destinations`, the URL must also pass the webhook destination policy (its
    address, or what its host name resolves to now); None checks the URL's form only, for
    `configfile.load`, which runs before the server knows where it binds."""
    if destinations is None:
        parse_url(spec.url)
    else:
        destinations.check(spec.url)
    policy = parse_policy(spec.filter_policy) if spec.filter_policy is not None else None
    return Subscription(
        id=sub_id, name=spec.name or sub_id, url=spec.url, filter_policy=policy, timeout=spec.timeout,
        source=source, created_ns=now_ns, secret=spec.secret,
    )


def _limit(params: Mapping[str, str]) -> int:
    text = params.get("limit", "100")
    if not (text.isascii() and text.isdigit() and len(text) < 10) or not 1 <= int(text) <= MAX_LIMIT:
        raise InvalidInputError(f"limit: a whole number from 1 to {MAX_LIMIT}, got {text!r}")
    return int(text)


def _only(params: Mapping[str, str], allowed: set[str]) -> None:
    for k in params:
        if k not in allowed:
            raise InvalidInputError(f"{k}: unknown query parameter; known: {', '.join(sorted(allowed))}")
