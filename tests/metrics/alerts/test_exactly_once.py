"""Property: every transition is recorded once and notified once, across retries and restarts."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from weir.errors import DeliveryError
from weir.metrics.alerts.evaluate import AlertEngine
from weir.metrics.alerts.notify import Dispatcher, RetryPolicy
from weir.metrics.timeutil import NS

from .conftest import Env, dynamodb_alerts

P = 60 * NS


class Receiver:
    """A notifier that fails when told to, before anything is received."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self.failing = False

    def send(self, event) -> None:
        if self.failing:
            raise DeliveryError("receiver down")
        self.received.append(event.event_id)


step = st.one_of(
    st.tuples(st.just("point"), st.sampled_from([5.0, 95.0])),
    st.tuples(st.just("tick"), st.integers(1, 4)),
    st.tuples(st.just("deliver"), st.booleans()),
    st.tuples(st.just("restart"), st.none()),
)


@pytest.fixture(params=["sqlite", "dynamodb"])
def alert_backend(request):
    """A factory of fresh alert stores for one hypothesis example: (open, cleanup)."""
    if request.param == "sqlite":
        return lambda root: (None, lambda: None)
    import uuid

    from weir.backends.aws.tables import ALERTS_TABLE_SCHEMA

    client = request.getfixturevalue("dynamodb")

    def make(root):
        name = f"weir-once-{uuid.uuid4().hex[:10]}"
        client.create_table(TableName=name, **ALERTS_TABLE_SCHEMA)
        return dynamodb_alerts(client, name), lambda: client.delete_table(TableName=name)

    return make


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(step, min_size=1, max_size=25),
    m=st.integers(1, 3),
    n_less=st.integers(0, 2),
    missing=st.sampled_from(["missing", "ignore", "breaching", "not_breaching"]),
)
def test_each_transition_is_notified_exactly_once(alert_backend, steps, m, n_less, missing):
    root = Path(tempfile.mkdtemp(prefix="weir-once-"))
    open_alerts, cleanup = alert_backend(root)
    env = Env(root, open_alerts)
    try:
        rule = env.rule(threshold=50, evaluation_periods=m, datapoints_to_alarm=max(1, m - n_less),
                        missing_data=missing)
        receiver = Receiver()
        retry = RetryPolicy(max_attempts=1000, base_seconds=1, max_seconds=1)

        def parts():
            eng = AlertEngine(env.metrics, env.alerts, lambda ev: ["hook"], clock=env.clock)
            return eng, Dispatcher(env.alerts, {"hook": receiver}, None, retry=retry, clock=env.clock)

        eng, disp = parts()
        recorded = []
        for kind, arg in steps:
            if kind == "point":
                env.write("cpu", arg, env.clock.ns)
                env.clock.ns += NS
            elif kind == "tick":
                env.clock.ns += arg * P
            elif kind == "deliver":
                receiver.failing = arg
                disp.deliver_due()
                env.clock.ns += 2 * NS  # past the retry delay
            else:
                env.reopen_alerts()  # a restart: only what was committed survives
                eng, disp = parts()
            recorded += eng.evaluate_rule(rule)
        receiver.failing = False
        env.clock.ns += 10 * NS
        for _ in range(1000):  # until nothing is pending: an open circuit holds a failing target back a while
            if env.alerts.next_due_ns() is None:
                break
            disp.deliver_due()
            env.clock.ns += 10 * NS

        # Transitions chain: each starts where the previous ended, and changes the state.
        state = "INSUFFICIENT_DATA"
        for ev in recorded:
            assert ev.previous_state == state and ev.state != state
            state = ev.state
        stored = env.alerts.get_states(rule.id)
        assert [s.state for s in stored] == ([state] if recorded else [])
        # Each recorded event reached the receiver exactly once, and nothing else did.
        assert Counter(receiver.received) == Counter(ev.event_id for ev in recorded)
        assert all(c == 1 for c in Counter(receiver.received).values())
        assert sorted(e.event.event_id for e in env.alerts.events(limit=1000)) == sorted(ev.event_id for ev in recorded)
        assert all(d.status == "delivered" for e in env.alerts.events(limit=1000) for d in e.deliveries)
    finally:
        env.close()
        cleanup()
        shutil.rmtree(root, ignore_errors=True)


def test_pending_deliveries_survive_a_restart_and_keep_their_event_id(env):
    rule = env.rule(threshold=50, missing_data="breaching")
    [ev] = AlertEngine(env.metrics, env.alerts, lambda e: ["hook"], clock=env.clock).evaluate_rule(rule)
    env.reopen_alerts()  # crashed before delivering
    receiver = Receiver()
    assert Dispatcher(env.alerts, {"hook": receiver}, None, clock=env.clock).deliver_due() == 1
    assert receiver.received == [ev.event_id]
    assert Dispatcher(env.alerts, {"hook": receiver}, None, clock=env.clock).deliver_due() == 0


def test_failures_are_retried_with_backoff_then_marked_failed(env):
    rule = env.rule(threshold=50, missing_data="breaching")
    AlertEngine(env.metrics, env.alerts, lambda e: ["hook"], clock=env.clock).evaluate_rule(rule)
    receiver = Receiver()
    receiver.failing = True
    disp = Dispatcher(env.alerts, {"hook": receiver}, None, clock=env.clock,
                      retry=RetryPolicy(max_attempts=3, base_seconds=10, max_seconds=15))
    assert disp.deliver_due() == 1
    [d] = env.alerts.events()[0].deliveries
    assert (d.status, d.attempts, d.last_error) == ("pending", 1, "receiver down")
    assert env.alerts.next_due_ns() == env.clock.ns + 10 * NS  # base delay
    assert disp.deliver_due() == 0  # not due yet
    env.clock.ns += 10 * NS
    assert disp.deliver_due() == 1
    assert env.alerts.next_due_ns() == env.clock.ns + 15 * NS  # 20 s, capped at 15
    env.clock.ns += 15 * NS
    assert disp.deliver_due() == 1
    [d] = env.alerts.events()[0].deliveries
    assert (d.status, d.attempts, d.next_attempt) == ("failed", 3, None)
    assert env.alerts.next_due_ns() is None
