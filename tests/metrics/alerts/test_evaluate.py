"""Evaluating rules over a real SQLite metric store and recording through the SQLite alert store."""

from __future__ import annotations

import pytest

from weir.metrics.alerts.evaluate import AlertEngine, period_values
from weir.metrics.alerts.model import Rule
from weir.metrics.timeutil import NS

from .conftest import T0

P = 60 * NS


def engine(env, targets=("log",)):
    return AlertEngine(env.metrics, env.alerts, lambda ev: list(targets), environment="test", clock=env.clock)


def states(env, rule_id="r-1"):
    return {tuple(sorted(s.group.items())): s.state for s in env.alerts.get_states(rule_id)}


def test_crossing_alarms_once_and_recovers(env):
    rule = env.rule(threshold=50, evaluation_periods=1)
    eng = engine(env)
    env.write("cpu", 90, T0 + 5 * NS)
    env.clock.ns = T0 + 10 * NS
    [ev] = eng.evaluate_rule(rule)
    assert (ev.previous_state, ev.state, ev.kind, ev.value) == ("INSUFFICIENT_DATA", "ALARM", "transition", 90)
    assert ev.environment == "test" and ev.metric == "cpu"
    assert eng.evaluate_rule(rule) == []  # still ALARM: nothing new to notify
    env.write("cpu", 10, T0 + P + 1 * NS)
    env.clock.ns = T0 + P + 2 * NS
    [ev2] = eng.evaluate_rule(rule)
    assert (ev2.previous_state, ev2.state) == ("ALARM", "OK")
    assert ev.event_id != ev2.event_id
    history = env.alerts.events(rule_id="r-1")
    assert [e.event.state for e in history] == ["OK", "ALARM"]
    assert [d.target for d in history[0].deliveries] == ["log"]


def test_n_out_of_m_over_periods(env):
    rule = env.rule(threshold=50, evaluation_periods=3, datapoints_to_alarm=2)
    for i, v in enumerate([90, 10, 10]):
        env.write("cpu", v, T0 + i * P)
    env.clock.ns = T0 + 3 * P  # the three periods are complete, the fourth is empty
    [ev] = engine(env).evaluate_rule(rule)
    assert ev.state == "OK" and "1 of the last 3 datapoints [90, 10, 10]" in ev.reason
    env.write("cpu", 95, T0 + 3 * P + NS)  # the period in progress counts once it has data
    env.clock.ns = T0 + 3 * P + 2 * NS
    assert engine(env).evaluate_rule(rule) == []  # [10, 10, 95]: 1 of 3, still OK
    env.write("cpu", 96, T0 + 2 * P + 30 * NS)  # a late point: period 2 averages (10 + 96) / 2
    [ev] = engine(env).evaluate_rule(rule)
    assert ev.state == "ALARM" and "2 of the last 3 datapoints [10, 53, 95]" in ev.reason


def test_group_by_keeps_one_state_per_group(env):
    rule = env.rule(threshold=50, group_by=["host"])
    env.write("cpu", 90, T0, host="a", region="x")
    env.write("cpu", 95, T0, host="a", region="y")
    env.write("cpu", 10, T0, host="b", region="x")
    env.clock.ns = T0 + NS
    events = engine(env).evaluate_rule(rule)
    assert {(tuple(e.group.items()), e.state) for e in events} == {((("host", "a"),), "ALARM"),
                                                                  ((("host", "b"),), "OK")}
    assert states(env) == {(("host", "a"),): "ALARM", (("host", "b"),): "OK"}


def test_group_by_star_watches_each_series(env):
    rule = env.rule(threshold=50, group_by=["*"], dimensions={"region": "x"})
    env.write("cpu", 90, T0, host="a", region="x")
    env.write("cpu", 10, T0, host="b", region="x")
    env.write("cpu", 99, T0, host="c", region="y")  # filtered out by dimensions
    env.clock.ns = T0 + NS
    engine(env).evaluate_rule(rule)
    assert states(env) == {(("host", "a"), ("region", "x")): "ALARM", (("host", "b"), ("region", "x")): "OK"}


def test_statistics_per_period():
    arrays = [([0, 10, 70], [1.0, 5.0, 7.0]), ([5, 20, 61], [3.0, 2.0, 9.0])]
    assert period_values(arrays, "last", 0, 60, 2) == [2.0, 7.0]  # the latest timestamp across series
    assert period_values(arrays, "max", 0, 60, 2) == [5.0, 9.0]
    assert period_values(arrays, "count", 0, 60, 3) == [4.0, 2.0, None]
    assert period_values([([0, 1], [1.0, 3.0])], "avg", 0, 60, 1) == [2.0]
    assert period_values(arrays, "p50", 0, 60, 2) == [2.5, 8.0]  # median of 1, 2, 3, 5; of 7, 9


def test_rules_take_p50_as_queries_do():
    from weir.metrics.alerts.model import STATISTICS

    assert "p50" in STATISTICS


def test_low_count_rules_wait_for_complete_periods(env):
    rule = env.rule(threshold=3, statistic="count", comparison="<")
    for i in range(5):
        env.write("cpu", 1, T0 + i * NS)
    env.write("cpu", 1, T0 + P + NS)  # one point so far in the period in progress
    env.clock.ns = T0 + P + 2 * NS
    [ev] = engine(env).evaluate_rule(rule)
    assert ev.state == "OK" and "[5]" in ev.reason  # judged on the complete period (5 points)


@pytest.mark.parametrize("missing, want", [("breaching", "ALARM"), ("not_breaching", "OK"), ("missing", None)])
def test_missing_data_treatments_without_any_data(env, missing, want):
    env.write("cpu", 1, T0 - 3600 * NS)  # the metric exists, but not in the range
    rule = env.rule(threshold=50, missing_data=missing)
    events = engine(env).evaluate_rule(rule)
    assert [e.state for e in events] == ([want] if want else [])


def test_renotify_while_in_alarm(env):
    rule = env.rule(threshold=50, renotify_seconds=120, missing_data="breaching")
    eng = engine(env)
    assert [e.kind for e in eng.evaluate_rule(rule)] == ["transition"]
    env.clock.ns += 119 * NS
    assert eng.evaluate_rule(rule) == []
    env.clock.ns += 1 * NS
    [ev] = eng.evaluate_rule(rule)
    assert (ev.kind, ev.previous_state, ev.state) == ("renotify", "ALARM", "ALARM")
    assert eng.evaluate_rule(rule) == []


def test_racing_evaluators_record_a_transition_once(env):
    rule = env.rule(threshold=50, missing_data="breaching")
    first, second = engine(env), engine(env)
    # Both read the old state before either records (as two Lambdas might).
    changes = []
    for eng in (first, second):
        orig = env.alerts.record
        env.alerts.record = lambda rid, ver, ch, _o=orig: changes.append((rid, ver, ch)) or []
        eng.evaluate_rule(rule)
        env.alerts.record = orig
    recorded = [env.alerts.record(*c) for c in changes]
    assert [len(r) for r in recorded] == [1, 0]
    assert len(env.alerts.events()) == 1


def test_a_rule_changed_during_evaluation_records_nothing(env):
    rule = env.rule(threshold=50, missing_data="breaching")
    env.alerts.put_rule(Rule(id=rule.id, spec=rule.spec, created_ns=rule.created_ns, updated_ns=rule.updated_ns,
                             version=2))
    assert engine(env).evaluate_rule(rule) == []
    assert env.alerts.events() == []
