"""The circuit breaker per target, alone and inside the dispatcher: a target that keeps
failing is held back (its deliveries stay pending, their attempts uncounted) while the
others are delivered, then probed once and closed again when it answers."""

from __future__ import annotations

from tests.conftest import FakeClock
from weir.errors import DeliveryError
from weir.metrics.alerts.circuit import CircuitPolicy, Circuits
from weir.metrics.alerts.notify import Dispatcher, PermanentDeliveryError, RetryPolicy
from weir.metrics.timeutil import NS

from .conftest import T0, Env

POLICY = CircuitPolicy(failures=3, open_seconds=10, max_open_seconds=25)


def test_opens_after_failures_in_a_row_then_probes_once():
    clock = FakeClock(ns=T0)
    c = Circuits(POLICY, clock)
    for _ in range(2):
        c.failed("hook")
    c.succeeded("hook")  # a success resets the count
    for _ in range(3):
        assert c.allows("hook")
        c.failed("hook")
    assert not c.allows("hook") and c.blocked() == ["hook"]
    assert c.next_change() == T0 / NS + 10
    clock.ns += 10 * NS
    assert c.allows("hook")  # half-open: one probe
    assert not c.allows("hook") and c.blocked() == ["hook"]
    c.failed("hook")  # the probe failed: open again, twice as long
    assert c.next_change() == clock() + 20
    clock.ns += 20 * NS
    assert c.allows("hook")
    c.failed("hook")
    assert c.next_change() == clock() + 25  # capped
    clock.ns += 25 * NS
    assert c.allows("hook")
    c.succeeded("hook")
    assert c.blocked() == [] and c.allows("hook") and c.allows("hook")


def test_permanent_failures_say_nothing_about_the_target():
    c = Circuits(POLICY, FakeClock(ns=T0))
    for _ in range(10):
        assert c.allows("hook")
        c.done_without_verdict("hook")
    assert c.blocked() == []


class Hook:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.received: list[str] = []

    def send(self, event) -> None:
        if self.error is not None:
            raise self.error
        self.received.append(event.event_id)


def test_the_dispatcher_holds_a_failing_target_back_and_serves_the_others(tmp_path):
    env = Env(tmp_path)
    try:
        rule = env.rule(threshold=50)
        from weir.metrics.alerts.evaluate import AlertEngine

        down, up = Hook(DeliveryError("down")), Hook()
        engine = AlertEngine(env.metrics, env.alerts, lambda ev: ["log", "down", "up"], clock=env.clock)
        disp = Dispatcher(env.alerts, {"log": Hook(), "down": down, "up": up}, None,
                          retry=RetryPolicy(max_attempts=100, base_seconds=1, max_seconds=1), clock=env.clock,
                          circuits=Circuits(POLICY, env.clock))
        events = []
        for i in range(8):  # eight transitions, OK and ALARM in turn
            env.write("cpu", 95.0 if i % 2 else 5.0, env.clock.ns)
            env.clock.ns += 60 * NS
            events += engine.evaluate_rule(rule)
        assert len(events) == 8
        disp.deliver_due()
        assert sorted(up.received) == sorted(e.event_id for e in events)
        attempts = {e.event.event_id: {d.target: d.attempts for d in e.deliveries} for e in env.alerts.events()}
        # three attempts opened the circuit; the other five deliveries were not tried
        assert sum(a["down"] for a in attempts.values()) == 3
        assert all(a["up"] == 1 and a["log"] == 1 for a in attempts.values())
        env.clock.ns += 2 * NS  # retries due, circuit still open: nothing is fetched for "down"
        assert disp.deliver_due() == 0
        env.clock.ns += 10 * NS  # half-open: one probe; it answers, so the rest follow
        down.error = None
        while disp.deliver_due():
            pass
        assert sorted(down.received) == sorted(e.event_id for e in events)
        assert all(d.status == "delivered" for e in env.alerts.events() for d in e.deliveries)
        # A permanent failure is final at once and leaves the circuit closed.
        down.error = PermanentDeliveryError("gone")
        env.write("cpu", 5.0, env.clock.ns)
        env.clock.ns += 60 * NS
        assert engine.evaluate_rule(rule)
        disp.deliver_due()
        assert disp.circuits.blocked() == []
    finally:
        env.close()
