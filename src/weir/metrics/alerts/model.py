"""Wire and storage models of alert rules, states, events and subscriptions.

msgspec checks most of a rule in C while decoding (literals, bounds, finiteness);
`__post_init__` adds the checks that relate fields (N <= M) or reuse the metric rules
(names, dimensions), so a bad rule is refused with a message naming the field before
anything is stored.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

import msgspec
from msgspec import Meta

from weir.metrics.model import FiniteFloat
from weir.metrics.series import check_dimensions, check_name
from weir.metrics.timeutil import ns_to_rfc3339

Statistic = Literal["avg", "min", "max", "sum", "count", "p50", "p90", "p99", "last"]
Comparison = Literal[">", ">=", "<", "<="]
MissingData = Literal["missing", "ignore", "breaching", "not_breaching"]
Severity = Literal["info", "warning", "critical"]
State = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
EventKind = Literal["transition", "renotify"]
DeliveryStatus = Literal["pending", "delivered", "failed"]

STATISTICS: tuple[str, ...] = get_args(Statistic)
COMPARISONS: tuple[str, ...] = get_args(Comparison)
MAX_EVALUATION_PERIODS = 100
MAX_WINDOW_SECONDS = 86_400  # as CloudWatch: periods x evaluation periods <= one day
MAX_LABELS = 20
GROUP_ALL = "*"  # group_by ["*"]: every matching series on its own

Period = Annotated[int, Meta(ge=1, le=MAX_WINDOW_SECONDS, description="Seconds per datapoint")]
Count = Annotated[int, Meta(ge=1, le=MAX_EVALUATION_PERIODS)]
RuleName = Annotated[str, Meta(min_length=1, max_length=255)]


class RuleSpec(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    """An alert rule as clients send it (POST / PUT /alerts)."""

    name: RuleName
    metric: Annotated[str, Meta(description="Metric name, as in POST /metrics")]
    threshold: FiniteFloat
    comparison: Comparison = ">"
    statistic: Statistic = "avg"
    period: Period = 60
    evaluation_periods: Annotated[Count, Meta(description="M: how many recent periods are looked at")] = 1
    datapoints_to_alarm: Annotated[
        Count | None, Meta(description="N: how many of those M must breach (default M)")
    ] = None
    missing_data: MissingData = "missing"
    severity: Severity = "warning"
    enabled: bool = True
    dimensions: Annotated[dict[str, str], Meta(description="Only series with these dimension values")] = {}
    group_by: Annotated[
        list[str] | None,
        Meta(description='Dimension keys: one state per distinct value; ["*"] watches each series'),
    ] = None
    labels: dict[str, str] = {}
    renotify_seconds: (
        Annotated[int, Meta(ge=60, le=7 * 86_400, description="Notify again while in ALARM, this often")] | None
    ) = None
    description: Annotated[str, Meta(max_length=1024)] = ""

    def __post_init__(self) -> None:
        n = self.datapoints_to_alarm
        if n is None:
            self.datapoints_to_alarm = self.evaluation_periods
        elif n > self.evaluation_periods:
            raise ValueError(
                f"datapoints_to_alarm ({n}) must not exceed evaluation_periods ({self.evaluation_periods}): "
                "the rule alarms when N of the last M periods breach"
            )
        if self.period * self.evaluation_periods > MAX_WINDOW_SECONDS:
            raise ValueError(
                f"period x evaluation_periods is {self.period * self.evaluation_periods} s; "
                f"at most {MAX_WINDOW_SECONDS} s (one day) can be evaluated"
            )
        _check(check_name, self.metric, "metric")
        _check(check_dimensions, self.dimensions, "dimensions")
        if self.group_by is not None:
            if not self.group_by or len(set(self.group_by)) != len(self.group_by):
                raise ValueError("group_by: give one or more distinct dimension keys, or [\"*\"]")
            if GROUP_ALL in self.group_by and len(self.group_by) > 1:
                raise ValueError('group_by: "*" (each series) cannot be combined with other keys')
            if self.group_by != [GROUP_ALL]:
                _check(check_dimensions, {k: "x" for k in self.group_by}, "group_by")
        if len(self.labels) > MAX_LABELS:
            raise ValueError(f"labels: at most {MAX_LABELS} labels")
        _check(check_dimensions, self.labels, "labels")


def _check(fn, value, field: str) -> None:
    from weir.errors import InvalidInputError

    try:
        fn(value)
    except InvalidInputError as exc:
        head, _, rest = exc.message.partition(": ")
        if head in ("name", "dimensions"):
            head = field
        elif head.startswith("dimensions."):
            head = field + head[len("dimensions"):]
        raise ValueError(f"{head}: {rest}") from None


class Rule(msgspec.Struct, kw_only=True):
    """A stored rule: the spec plus identity and bookkeeping."""

    id: str
    spec: RuleSpec
    created_ns: int
    updated_ns: int
    version: int = 1


class GroupState(msgspec.Struct, kw_only=True):
    """The state of one rule for one group (the empty group when the rule has no group_by)."""

    group: dict[str, str]
    state: State
    since: str
    reason: str = ""
    value: float | None = None


class RuleOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    metric: str
    threshold: float
    comparison: str
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    missing_data: str
    severity: str
    enabled: bool
    dimensions: dict[str, str]
    group_by: list[str] | None
    labels: dict[str, str]
    renotify_seconds: int | None
    description: str
    created_at: str
    updated_at: str
    version: int
    last_evaluated: str | None
    states: list[GroupState]


class RuleList(msgspec.Struct):
    alerts: list[RuleOut]


class Delivery(msgspec.Struct, kw_only=True):
    """One notification of one event to one target, and how it went."""

    target: Annotated[str, Meta(description="`log`, `sns` or `webhook:<subscription id>`")]
    status: DeliveryStatus
    attempts: int
    last_error: str | None = None
    next_attempt: str | None = None
    delivered_at: str | None = None


class AlertEvent(msgspec.Struct, kw_only=True):
    """A state transition (or a reminder while in ALARM), as stored and as notified."""

    event_id: str
    kind: EventKind
    rule_id: str
    rule_name: str
    metric: str
    group: dict[str, str]
    previous_state: State
    state: State
    severity: Severity
    reason: str
    value: float | None
    threshold: float
    comparison: str
    statistic: str
    period: int
    labels: dict[str, str]
    at: str
    environment: str = "local"


class EventOut(msgspec.Struct, kw_only=True):
    event: AlertEvent
    deliveries: list[Delivery]


class EventList(msgspec.Struct):
    events: list[EventOut]


class SubscriptionSpec(msgspec.Struct, forbid_unknown_fields=True):
    """A local webhook subscription; `filter_policy` is SNS filter-policy JSON."""

    url: Annotated[str, Meta(min_length=8, max_length=2048, description=(
        "http(s) URL to POST to, without credentials; never a link-local or metadata address, and a private or "
        "loopback one only where the server allows it (README: Where webhooks may go)"))]
    name: Annotated[str, Meta(max_length=255)] = ""
    filter_policy: Annotated[
        dict | str | None, Meta(description="SNS filter policy (object or JSON text) on the message attributes")
    ] = None
    secret: (
        Annotated[str, Meta(min_length=16, max_length=256, description="Signs each body: X-Weir-Signature")] | None
    ) = None
    timeout: Annotated[float, Meta(gt=0, le=60)] = 5.0


class Subscription(msgspec.Struct, kw_only=True):
    id: str
    name: str
    url: str
    filter_policy: dict | None
    timeout: float
    source: Literal["api", "config"]
    created_ns: int
    secret: str | None = None


class SubscriptionOut(msgspec.Struct, kw_only=True):
    id: str
    name: str
    url: str
    filter_policy: dict | None
    timeout: float
    source: str
    created_at: str
    signed: bool
    last_delivery: Delivery | None = None


class SubscriptionList(msgspec.Struct):
    subscriptions: list[SubscriptionOut]


def rule_out(rule: Rule, states: list[GroupState], last_evaluated: str | None = None) -> RuleOut:
    s = rule.spec
    return RuleOut(
        id=rule.id, name=s.name, metric=s.metric, threshold=s.threshold, comparison=s.comparison,
        statistic=s.statistic, period=s.period, evaluation_periods=s.evaluation_periods,
        datapoints_to_alarm=s.datapoints_to_alarm or s.evaluation_periods, missing_data=s.missing_data,
        severity=s.severity, enabled=s.enabled, dimensions=s.dimensions, group_by=s.group_by,
        labels=s.labels, renotify_seconds=s.renotify_seconds, description=s.description,
        created_at=ns_to_rfc3339(rule.created_ns), updated_at=ns_to_rfc3339(rule.updated_ns),
        version=rule.version, last_evaluated=last_evaluated, states=states,
    )
