"""The alert-store contract on SQLite (the DynamoDB adapter will run the same tests)."""

from __future__ import annotations

import pytest

from weir.backends.sqlite.alerts import SqliteAlertStore
from weir.errors import ConflictError
from weir.metrics.alerts.model import Rule, RuleSpec, Subscription


@pytest.fixture(params=["sqlite"])
def store(request, tmp_path):
    s = SqliteAlertStore(tmp_path / "alerts.db")
    yield s
    s.close()


def sub(sub_id, source="api"):
    return Subscription(id=sub_id, name=sub_id, url="http://127.0.0.1:1/", filter_policy=None, timeout=1,
                        source=source, created_ns=0)


def rule(rule_id, name, version=1):
    return Rule(id=rule_id, spec=RuleSpec(name=name, metric="cpu", threshold=1), created_ns=1, updated_ns=2,
                version=version)


def test_rules_round_trip_and_unique_names(store):
    store.put_rule(rule("r-1", "a"))
    store.put_rule(rule("r-2", "b"))
    assert [r.id for r in store.list_rules()] == ["r-1", "r-2"]
    assert store.get_rule("r-1").spec.name == "a"
    with pytest.raises(ConflictError):
        store.put_rule(rule("r-2", "a"))
    store.put_rule(rule("r-1", "a2", version=2))
    assert (store.get_rule("r-1").spec.name, store.get_rule("r-1").version) == ("a2", 2)
    assert store.delete_rule("r-1") and not store.delete_rule("r-1")
    assert store.get_rule("r-1") is None


def test_config_subscriptions_are_replaced_and_api_ones_kept(store):
    store.put_subscription(sub("mine"))
    store.replace_config_subscriptions([sub("c1", "config"), sub("c2", "config")])
    store.replace_config_subscriptions([sub("c2", "config")])
    assert [s.id for s in store.list_subscriptions()] == ["c2", "mine"]
    with pytest.raises(ConflictError):
        store.replace_config_subscriptions([sub("mine", "config")])
    assert store.delete_subscription("mine") and store.get_subscription("mine") is None


def test_nothing_pending_when_empty(store):
    assert store.due_deliveries(2**62) == [] and store.next_due_ns() is None
    assert store.events() == [] and store.last_delivery("log") is None
