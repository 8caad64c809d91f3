"""The AlertStore contract, run against every backend: SQLite, and DynamoDB on the moto server.

The engine-level tests (tests/metrics/alerts/) run against both stores as well; these check
the port's operations one by one.
"""

from __future__ import annotations

import pytest

from weir.errors import ConflictError
from weir.metrics.alerts.model import AlertEvent, Rule, RuleSpec, Subscription
from weir.metrics.alerts.ports import StateChange, StateRecord
from weir.metrics.timeutil import NS

T = 1_800_000_000 * NS


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request, tmp_path, no_scan):
    if request.param == "sqlite":
        from weir.backends.sqlite.alerts import SqliteAlertStore

        s = SqliteAlertStore(tmp_path / "alerts.db")
        yield s
        s.close()
        return
    from weir.backends.aws.alerts import DynamoAlertStore

    client = request.getfixturevalue("dynamodb")
    no_scan(client)
    s = DynamoAlertStore(client, request.getfixturevalue("alerts_table"))
    yield s
    s.close()


def sub(sub_id, source="api"):
    return Subscription(id=sub_id, name=sub_id, url="http://127.0.0.1:1/", filter_policy=None, timeout=1,
                        source=source, created_ns=0)


def rule(rule_id, name, version=1):
    return Rule(id=rule_id, spec=RuleSpec(name=name, metric="cpu", threshold=1), created_ns=1, updated_ns=2,
                version=version)


def event(event_id, rule_id="r-1", kind="transition", state="ALARM", previous="INSUFFICIENT_DATA", group=None):
    return AlertEvent(
        event_id=event_id, kind=kind, rule_id=rule_id, rule_name="n", metric="cpu", group=group or {},
        previous_state=previous, state=state, severity="critical", reason="because", value=97.5, threshold=90.0,
        comparison=">", statistic="max", period=60, labels={"team": "ops"}, at="2027-01-15T08:00:00Z",
    )


def change(group: dict, version: int, at_ns: int, ev: AlertEvent | None, targets=("log",), state="ALARM"):
    from weir.metrics.alerts.evaluate import group_key

    gk = group_key(group)
    record = StateRecord(gk, group, state, at_ns, "because", 97.5, at_ns, version)
    return StateChange(record, version - 1, ev, list(targets))


def test_rules_round_trip_and_unique_names(store):
    store.put_rule(rule("r-1", "a"))
    store.put_rule(rule("r-2", "b"))
    assert [r.id for r in store.list_rules()] == ["r-1", "r-2"]
    assert store.get_rule("r-1").spec.name == "a"
    with pytest.raises(ConflictError):
        store.put_rule(rule("r-2", "a"))
    store.put_rule(rule("r-1", "a2", version=2))
    assert (store.get_rule("r-1").spec.name, store.get_rule("r-1").version) == ("a2", 2)
    store.put_rule(rule("r-2", "a"))  # the old name was released by the rename
    assert store.delete_rule("r-1") and not store.delete_rule("r-1")
    assert store.get_rule("r-1") is None
    store.put_rule(rule("r-3", "a2"))  # and by the deletion
    assert [(r.id, r.spec.name) for r in store.list_rules()] == [("r-2", "a"), ("r-3", "a2")]


def test_config_subscriptions_are_replaced_and_api_ones_kept(store):
    store.put_subscription(sub("mine"))
    store.replace_config_subscriptions([sub("c1", "config"), sub("c2", "config")])
    store.replace_config_subscriptions([sub("c2", "config")])
    assert [s.id for s in store.list_subscriptions()] == ["c2", "mine"]
    assert store.get_subscription("c2").source == "config"
    with pytest.raises(ConflictError):
        store.replace_config_subscriptions([sub("mine", "config")])
    assert store.delete_subscription("mine") and store.get_subscription("mine") is None
    assert not store.delete_subscription("mine")


def test_nothing_pending_when_empty(store):
    assert store.due_deliveries(2**62) == [] and store.next_due_ns() is None
    assert store.events() == [] and store.last_delivery("log") is None
    assert store.get_states("r-none") == []


def test_a_transition_is_recorded_once_with_its_outbox(store):
    store.put_rule(rule("r-1", "a"))
    ev = event("r-1.x.1.1")
    [got] = store.record("r-1", 1, [change({}, 1, T, ev, ("log", "sns"))])
    assert got.event_id == ev.event_id
    # the same change again (a racing evaluator that read version 0): nothing more
    assert store.record("r-1", 1, [change({}, 1, T, event("r-1.x.1.1b"), ("log", "sns"))]) == []
    [state] = store.get_states("r-1")
    assert (state.state, state.version, state.value, state.last_notified_ns, state.group) == ("ALARM", 1, 97.5, T, {})
    [out] = store.events()
    assert out.event == ev
    assert [(d.target, d.status, d.attempts) for d in out.deliveries] == [("log", "pending", 0), ("sns", "pending", 0)]
    due = store.due_deliveries(T + NS)
    assert sorted((d.target, d.event.event_id, d.attempts) for d in due) == [("log", ev.event_id, 0),
                                                                            ("sns", ev.event_id, 0)]
    assert len({d.id for d in due}) == 2
    store.deliveries_done([d.id for d in due], T + 2 * NS)
    [out] = store.events()
    assert [(d.status, d.attempts, d.delivered_at) for d in out.deliveries] == [
        ("delivered", 1, "2027-01-15T08:00:02Z"), ("delivered", 1, "2027-01-15T08:00:02Z")]
    assert store.due_deliveries(T + 10**12) == [] and store.next_due_ns() is None
    assert store.last_delivery("sns").status == "delivered"


def test_the_version_guard_and_a_changed_rule(store):
    store.put_rule(rule("r-1", "a"))
    store.record("r-1", 1, [change({"host": "a"}, 1, T, event("e1", group={"host": "a"}))])
    # expected version 1 → 2 applies; a second writer still expecting 1 does not
    assert len(store.record("r-1", 1, [change({"host": "a"}, 2, T + NS, event("e2", state="OK"), state="OK")])) == 1
    assert store.record("r-1", 1, [change({"host": "a"}, 2, T + NS, event("e2b"))]) == []
    assert [s.state for s in store.get_states("r-1")] == ["OK"]
    # the rule has moved on to version 2: an evaluation of version 1 records nothing
    store.put_rule(rule("r-1", "a", version=2))
    assert store.record("r-1", 1, [change({"host": "b"}, 1, T + 2 * NS, event("e3", group={"host": "b"}))]) == []
    assert store.record("r-9", 1, [change({}, 1, T, event("e4", rule_id="r-9"))]) == []
    assert [e.event.event_id for e in store.events()] == ["e2", "e1"]


def test_states_are_kept_or_reset_with_the_rule_and_dropped_with_it(store):
    store.put_rule(rule("r-1", "a"))
    groups = [{"host": f"h{i}", "long": "x" * 200 + str(i)} for i in range(3)] + [{}]
    store.record("r-1", 1, [change(g, 1, T, event(f"e{i}", group=g)) for i, g in enumerate(groups)])
    keys = [s.group_key for s in store.get_states("r-1")]
    assert keys == sorted(keys) and len(keys) == 4
    store.put_rule(rule("r-1", "a", version=2))  # a new threshold: states kept
    assert len(store.get_states("r-1")) == 4
    store.put_rule(rule("r-1", "a", version=3), reset_states=True)  # watches something else now
    assert store.get_states("r-1") == []
    assert len(store.record("r-1", 3, [change({}, 1, T + NS, event("e9"))])) == 1
    assert store.delete_rule("r-1")
    assert store.get_states("r-1") == []
    assert len(store.events(rule_id="r-1", limit=1000)) == 5  # events outlive their rule
    assert len(store.due_deliveries(T + 10 * NS, limit=1000)) == 5  # and so do pending deliveries


def test_events_newest_first_by_rule_and_kind_with_a_limit(store):
    store.put_rule(rule("r-1", "a"))
    store.put_rule(rule("r-2", "b"))
    store.record("r-1", 1, [change({}, 1, T, event("a1"))])
    store.record("r-2", 1, [change({}, 1, T + NS, event("b1", rule_id="r-2"))])
    store.record("r-1", 1, [change({}, 2, T + 2 * NS, event("a2", kind="renotify", previous="ALARM"))])
    store.record("r-1", 1, [change({}, 3, T + 3 * NS, event("a3", state="OK", previous="ALARM"), state="OK")])
    ids = lambda evs: [e.event.event_id for e in evs]  # noqa: E731
    assert ids(store.events()) == ["a3", "a2", "b1", "a1"]
    assert ids(store.events(limit=2)) == ["a3", "a2"]
    assert ids(store.events(rule_id="r-1")) == ["a3", "a2", "a1"]
    assert ids(store.events(rule_id="r-1", kind="transition")) == ["a3", "a1"]
    assert ids(store.events(rule_id="r-1", kind="transition", limit=1)) == ["a3"]
    assert ids(store.events(kind="renotify")) == ["a2"]
    assert ids(store.events(rule_id="r-2")) == ["b1"]


def test_failed_deliveries_are_rescheduled_then_given_up(store):
    store.put_rule(rule("r-1", "a"))
    store.record("r-1", 1, [change({}, 1, T, event("e1"), ("hook",))])
    [d] = store.due_deliveries(T)
    store.delivery_failed(d.id, "receiver down", T + 10 * NS)
    [out] = store.events()
    assert [(x.status, x.attempts, x.last_error, x.next_attempt) for x in out.deliveries] == [
        ("pending", 1, "receiver down", "2027-01-15T08:00:10Z")]
    assert store.next_due_ns() == T + 10 * NS
    assert store.due_deliveries(T + 9 * NS) == []
    [d] = store.due_deliveries(T + 10 * NS)
    assert d.attempts == 1
    store.delivery_failed(d.id, "still down", None)
    [out] = store.events()
    assert [(x.status, x.attempts, x.last_error, x.next_attempt) for x in out.deliveries] == [
        ("failed", 2, "still down", None)]
    assert store.next_due_ns() is None and store.due_deliveries(2**62) == []
    assert store.last_delivery("hook").status == "failed"


def test_last_delivery_is_the_newest_event_to_that_target(store):
    store.put_rule(rule("r-1", "a"))
    store.record("r-1", 1, [change({}, 1, T, event("e1"), ("log", "webhook:s-1"))])
    store.record("r-1", 1, [change({}, 2, T + NS, event("e2", state="OK"), ("log",), state="OK")])
    due = {d.event.event_id + d.target: d.id for d in store.due_deliveries(T + 5 * NS)}
    store.deliveries_done([due["e1webhook:s-1"]], T + 6 * NS)
    hook = store.last_delivery("webhook:s-1")
    assert (hook.target, hook.status, hook.attempts) == ("webhook:s-1", "delivered", 1)
    assert store.last_delivery("log").status == "pending"  # e2's, still pending
    assert store.last_delivery("webhook:none") is None


def test_due_deliveries_leave_out_held_back_targets_and_deliveries_in_flight(store):
    """What the dispatcher of `weir serve` asks for: nothing for a busy or failing target,
    nothing already handed to a lane, and the limit counts only what is returned."""
    store.put_rule(rule("r-1", "a"))
    targets = ("log", "webhook:a", "webhook:b")
    for i in range(3):
        store.record("r-1", 1, [change({"i": str(i)}, 1, T, event(f"r-1.x.{i}"), targets)])
    first = store.due_deliveries(T + NS, skip_targets=["webhook:a", "webhook:b"])
    assert sorted(d.target for d in first) == ["log"] * 3
    second = store.due_deliveries(T + NS, skip_targets=["webhook:a"], skip_ids=[d.id for d in first])
    assert sorted(d.target for d in second) == ["webhook:b"] * 3
    third = store.due_deliveries(T + NS, limit=2, skip_ids=[d.id for d in first + second])
    assert [d.target for d in third] == ["webhook:a"] * 2
