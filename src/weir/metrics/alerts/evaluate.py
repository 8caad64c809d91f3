"""Evaluating alert rules over the metric store.

One evaluation reads the rule's series for its evaluation range with the store's `read`,
reduces each group's points to one datapoint per period (the query service's bucketing
and statistics from `aggregate.py`, plus `last`), runs the state machine, and hands the
changes to the alert store, which records each transition once, with its event and its
pending deliveries, in one transaction.

Periods are aligned to multiples of the period, like query buckets. The period in
progress counts as soon as it holds data, so a breaching point alarms right after it is
ingested; an empty period in progress is not yet "missing". The exception: `count` and
`sum` compared with `<`/`<=` only look at complete periods, since a partial count or sum
would look low and alarm at the start of every period.
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable
from hashlib import blake2b

import msgspec

from weir.metrics.aggregate import bucket_many, bucket_sorted, summarize
from weir.metrics.alerts import state as sm
from weir.metrics.alerts.model import GROUP_ALL, AlertEvent, EventKind, Rule
from weir.metrics.alerts.ports import AlertStore, StateChange, StateRecord
from weir.metrics.ports import MetricStore
from weir.metrics.series import Series, matches
from weir.metrics.timeutil import NS, ns_to_rfc3339

log = logging.getLogger(__name__)

Router = Callable[[AlertEvent], list[str]]
_encode = msgspec.json.Encoder(order="sorted").encode


def group_of(rule_group_by: list[str] | None, series: Series) -> dict[str, str]:
    if not rule_group_by:
        return {}
    if rule_group_by == [GROUP_ALL]:
        return dict(series.dimensions)
    return {k: series.dimensions.get(k, "") for k in rule_group_by}


def group_key(group: dict[str, str]) -> str:
    return _encode(group).decode() if group else ""


def uses_partial_period(statistic: str, comparison: str) -> bool:
    return not (statistic in ("count", "sum") and comparison in ("<", "<="))


def period_values(
    arrays: list[tuple[list[int], list[float]]], statistic: str, start: int, period: int, n: int
) -> list[float | None]:
    """One value per period in [start, start + n * period); None where a period is empty."""
    out: list[float | None] = [None] * n
    if statistic == "last":
        latest: list[tuple[int, float] | None] = [None] * n
        for ts, vals in arrays:
            for i, _ in bucket_sorted(ts, vals, start, period, n):
                hi = bisect_left(ts, start + (i + 1) * period) - 1
                got = latest[i]
                if got is None or ts[hi] >= got[0]:
                    latest[i] = (ts[hi], vals[hi])
        return [None if x is None else x[1] for x in latest]
    if len(arrays) == 1:
        buckets: Iterable = bucket_sorted(arrays[0][0], arrays[0][1], start, period, n)
    else:
        buckets = bucket_many(arrays, start, period, n).items()
    for i, values in buckets:
        out[i] = float(summarize(values, (statistic,))[statistic])
    return out


class AlertEngine:
    def __init__(
        self,
        store: MetricStore,
        alerts: AlertStore,
        router: Callable[[AlertEvent], list[str]],  # the targets of an event: a `Router`, in every deployment
        *,
        environment: str = "local",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.alerts = alerts
        self.router = router
        self.environment = environment
        self.clock = clock
        self.last_evaluated: dict[str, int] = {}

    def evaluate_metrics(self, names: set[str]) -> list[AlertEvent]:
        rules = [r for r in self.alerts.list_rules() if r.spec.enabled and r.spec.metric in names]
        return self._evaluate(rules)

    def evaluate_all(self) -> list[AlertEvent]:
        return self._evaluate([r for r in self.alerts.list_rules() if r.spec.enabled])

    def _evaluate(self, rules: list[Rule]) -> list[AlertEvent]:
        """Evaluate the rules, reading each metric once for all its rules (reads dominate)."""
        events: list[AlertEvent] = []
        now = int(self.clock() * NS)
        by_metric: dict[str, list[Rule]] = {}
        for rule in rules:
            by_metric.setdefault(rule.spec.metric, []).append(rule)
        for metric, members in by_metric.items():
            try:
                shared = self._read(metric, members, now)
            except Exception:
                log.exception("reading metric %s for alert evaluation failed", metric)
                continue
            for rule in members:
                try:
                    events += self.evaluate_rule(rule, now, shared)
                except Exception:  # one broken rule must not stop the others
                    log.exception("evaluating alert rule %s (%s) failed", rule.id, rule.spec.name)
        return events

    def _read(self, metric: str, rules: list[Rule], now: int) -> tuple[list[Series], dict]:
        # Through the store's index: the series of the rules' dimensions, not all of the metric's.
        chosen: dict[int, Series] = {}
        for r in rules:
            chosen.update((s.id, s) for s in self.store.select(metric, r.spec.dimensions))
        series = sorted(chosen.values(), key=lambda s: s.key)
        if not series:
            return series, {}
        start = min(_window(r, now)[0] for r in rules)
        end = max(_window(r, now)[1] for r in rules)
        return series, self.store.read([s.id for s in series], start, end)

    def evaluate_rule(
        self, rule: Rule, now_ns: int | None = None, shared: tuple[list[Series], dict] | None = None
    ) -> list[AlertEvent]:
        spec = rule.spec
        now = int(self.clock() * NS) if now_ns is None else now_ns
        period = spec.period * NS
        m = spec.evaluation_periods
        n = spec.datapoints_to_alarm or m
        r = sm.evaluation_range(m)
        start, _ = _window(rule, now)
        all_series, data = shared if shared is not None else self._read(spec.metric, [rule], now)
        series = [s for s in all_series if matches(s, spec.dimensions)]
        groups: dict[str, tuple[dict[str, str], list]] = {}
        for s in series:
            g = group_of(spec.group_by, s)
            entry = groups.setdefault(group_key(g), (g, []))
            if s.id in data:
                entry[1].append(data[s.id])
        previous = {rec.group_key: rec for rec in self.alerts.get_states(rule.id)}
        if not spec.group_by:
            groups.setdefault("", ({}, []))
        for key, rec in previous.items():
            groups.setdefault(key, (rec.group, []))
        partial = uses_partial_period(spec.statistic, spec.comparison)
        changes = []
        for key, (group, arrays) in groups.items():
            values = period_values(arrays, spec.statistic, start, period, r + 1)
            window = values[1:] if partial and values[-1] is not None else values[:-1]
            old = previous.get(key) or StateRecord(key, group, "INSUFFICIENT_DATA", rule.created_ns)
            decision = sm.decide(
                window, comparison=spec.comparison, threshold=spec.threshold, m=m, n=n,
                missing=spec.missing_data, current=old.state,
            )
            kind = sm.event_kind(
                old.state, decision.state, last_notified_ns=old.last_notified_ns, now_ns=now,
                renotify_ns=spec.renotify_seconds * NS if spec.renotify_seconds else None,
            )
            if kind is None:
                continue
            changes.append(self._change(rule, old, decision, kind, now))
        self.last_evaluated[rule.id] = now
        return self.alerts.record(rule.id, rule.version, changes) if changes else []

    def _change(self, rule: Rule, old: StateRecord, d: sm.Decision, kind: EventKind, now: int) -> StateChange:
        spec = rule.spec
        version = old.version + 1
        digest = blake2b(old.group_key.encode(), digest_size=4).hexdigest()
        event = AlertEvent(
            event_id=f"{rule.id}.{digest}.{rule.version}.{version}",
            kind=kind,
            rule_id=rule.id, rule_name=spec.name, metric=spec.metric, group=old.group,
            previous_state=old.state,
            state=d.state,
            severity=spec.severity, reason=d.reason, value=d.value, threshold=spec.threshold,
            comparison=spec.comparison, statistic=spec.statistic, period=spec.period, labels=spec.labels,
            at=ns_to_rfc3339(now), environment=self.environment,
        )
        since = now if kind == "transition" else old.since_ns
        record = StateRecord(old.group_key, old.group, d.state, since, d.reason, d.value, now, version)
        return StateChange(record, old.version, event, self.router(event))


def _window(rule: Rule, now: int) -> tuple[int, int]:
    """[start, end) of the rule's range plus the period in progress, aligned to its period."""
    period = rule.spec.period * NS
    p_now = now // period
    return (p_now - sm.evaluation_range(rule.spec.evaluation_periods)) * period, (p_now + 1) * period
