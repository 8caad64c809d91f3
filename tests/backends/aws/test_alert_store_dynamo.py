"""What the DynamoDB alert store adds to the contract: concurrent dispatchers claim
deliveries, not share them; throttled and conflicting transactions are retried; driver
errors become Weir errors."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.backends.test_alert_store_contract import T, change, event, rule
from weir.backends.aws.alerts import DynamoAlertStore
from weir.errors import StorageError
from weir.metrics.timeutil import NS

from .faults import FlakyClient


def filled(client, table, n_events=20) -> DynamoAlertStore:
    store = DynamoAlertStore(client, table)
    store.put_rule(rule("r-1", "a"))
    for i in range(n_events):
        g = {"host": f"h{i}"}
        store.record("r-1", 1, [change(g, 1, T, event(f"e{i}", group=g), ("log", "sns"))])
    return store


class ClaimedMeanwhile:
    """The real client, except that right after its first Query another dispatcher runs: a
    dispatcher that read the outbox just before another claimed it. (moto's transactions
    are not isolated between threads, so the race is staged, not run in threads.)"""

    def __init__(self, client, meanwhile) -> None:
        self._client = client
        self._meanwhile = meanwhile

    def __getattr__(self, name):
        return getattr(self._client, name)

    def query(self, **kwargs):
        answer = self._client.query(**kwargs)
        if self._meanwhile is not None:
            self._meanwhile, run = None, self._meanwhile
            run()
        return answer


def test_overlapping_dispatchers_never_get_the_same_delivery(dynamodb, alerts_table):
    filled(dynamodb, alerts_table)
    first = DynamoAlertStore(dynamodb, alerts_table)
    claimed = []
    late = DynamoAlertStore(
        ClaimedMeanwhile(dynamodb, lambda: claimed.extend(first.due_deliveries(T + NS, limit=100))), alerts_table)
    assert late.due_deliveries(T + NS, limit=100) == []  # it saw 40 due, but each claim found the item moved
    assert len(claimed) == 40 and len({d.id for d in claimed}) == 40
    assert DynamoAlertStore(dynamodb, alerts_table).due_deliveries(T + NS, limit=100) == []
    first.deliveries_done([d.id for d in claimed], T + 2 * NS)
    assert first.due_deliveries(T + 10**15) == []
    assert all(d.status == "delivered" for e in first.events(limit=100) for d in e.deliveries)


def test_a_claim_whose_dispatcher_died_is_due_again_after_the_claim_time(dynamodb, alerts_table):
    filled(dynamodb, alerts_table, n_events=1)
    crashed = DynamoAlertStore(dynamodb, alerts_table, claim_seconds=60)
    assert len(crashed.due_deliveries(T)) == 2  # claimed, then the invocation timed out
    other = DynamoAlertStore(dynamodb, alerts_table, claim_seconds=60)
    assert other.due_deliveries(T + 59 * NS) == []
    assert other.next_due_ns() == T + 60 * NS
    again = other.due_deliveries(T + 60 * NS)
    assert len(again) == 2 and all(d.attempts == 0 for d in again)
    other.deliveries_done([d.id for d in again], T + 61 * NS)  # ids known from the claim
    crashed.deliveries_done([again[0].id], T + 62 * NS)  # a late duplicate report: harmless
    assert other.due_deliveries(T + 10**15) == [] and other.next_due_ns() is None


def test_throttled_and_conflicting_transactions_are_retried(dynamodb, alerts_table):
    sleeps: list[float] = []
    flaky = FlakyClient(dynamodb, throttle={"transact_write_items": 2, "get_item": 1})
    store = DynamoAlertStore(flaky, alerts_table, sleep=sleeps.append)
    store.put_rule(rule("r-1", "a"))
    assert flaky.calls.count("transact_write_items") == 3 and len(sleeps) == 3

    conflicts = {"n": 2}
    real = dynamodb.transact_write_items

    class Conflicting:
        def __getattr__(self, name):
            return getattr(dynamodb, name)

        def transact_write_items(self, **kwargs):
            if conflicts["n"] > 0:
                conflicts["n"] -= 1
                raise ClientError({"Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
                                   "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}]},
                                  "TransactWriteItems")
            return real(**kwargs)

    store = DynamoAlertStore(Conflicting(), alerts_table, sleep=sleeps.append)
    assert len(store.record("r-1", 1, [change({}, 1, T, event("e1"))])) == 1
    assert conflicts["n"] == 0 and len(store.events()) == 1


def test_driver_errors_become_storage_errors_that_name_the_table(dynamodb):
    store = DynamoAlertStore(dynamodb, "no-such-alert-table", sleep=lambda s: None)
    with pytest.raises(StorageError, match="no-such-alert-table.*does not exist"):
        store.list_rules()
    with pytest.raises(StorageError, match="does not exist"):
        store.put_rule(rule("r-1", "a"))
    throttled = FlakyClient(dynamodb, throttle={"query": 100})
    with pytest.raises(StorageError, match="kept throttling"):
        DynamoAlertStore(throttled, "t", sleep=lambda s: None).due_deliveries(T)
