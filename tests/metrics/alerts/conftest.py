from __future__ import annotations

import pytest

from tests.conftest import FakeClock
from weir.backends.sqlite.alerts import SqliteAlertStore
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.alerts.model import Rule, RuleSpec
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

T0 = 1_800_000_000 * NS  # a period boundary for every period used here


def sqlite_alerts(tmp_path):
    return lambda: SqliteAlertStore(tmp_path / "alerts.db")


def dynamodb_alerts(client, table: str):
    from weir.backends.aws.alerts import DynamoAlertStore

    return lambda: DynamoAlertStore(client, table)


class Env:
    """A SQLite metric store with an alert store of either backend (`open_alerts` makes one;
    calling it again is a restart: only what was stored survives)."""

    def __init__(self, tmp_path, open_alerts=None) -> None:
        self.clock = FakeClock(ns=T0)
        self.metrics = SqliteMetricStore(tmp_path / "metrics.db", retention_seconds=400 * 86400 * 365,
                                         clock=self.clock)
        self.open_alerts = open_alerts or sqlite_alerts(tmp_path)
        self.alerts = self.open_alerts()
        self.tmp_path = tmp_path

    def write(self, name: str, value: float, at_ns: int, **dims: str) -> None:
        s = make_series(name, dims, "gauge", None)
        known = self.metrics.get_series(s.id)
        self.metrics.append(PointBatch([s.id], [at_ns], [value], [] if known else [s]))

    def rule(self, rule_id: str = "r-1", **spec) -> Rule:
        spec.setdefault("name", rule_id)
        spec.setdefault("metric", "cpu")
        spec.setdefault("threshold", 50.0)
        rule = Rule(id=rule_id, spec=RuleSpec(**spec), created_ns=self.clock.ns, updated_ns=self.clock.ns)
        self.alerts.put_rule(rule)
        return rule

    def reopen_alerts(self) -> None:
        self.alerts.close()
        self.alerts = self.open_alerts()

    def close(self) -> None:
        self.alerts.close()
        self.metrics.close()


@pytest.fixture(params=["sqlite", "dynamodb"])
def env(request, tmp_path):
    if request.param == "sqlite":
        e = Env(tmp_path)
    else:
        e = Env(tmp_path, dynamodb_alerts(request.getfixturevalue("dynamodb"), request.getfixturevalue("alerts_table")))
    yield e
    e.close()
