"""The push-group store on SQLite beyond the shared contract in
tests/backends/test_state_contract.py: reopening, driver errors."""

from __future__ import annotations

import sqlite3

import pytest

from weir.backends.sqlite.pushgroups import SqlitePushGroupStore
from weir.errors import StorageError
from weir.metrics.ports import PushGroup


@pytest.fixture
def store(tmp_path):
    s = SqlitePushGroupStore(tmp_path / "pg.db")
    yield s
    s.close()


def group(members, method="PUT", ns=1):
    return PushGroup('{job="j"}', {"job": "j"}, ns, method, members)


def test_delete_and_reopen(tmp_path):
    s = SqlitePushGroupStore(tmp_path / "pg.db")
    s.record(group({"a": ["a1"]}), replace_all=True)
    s.record(PushGroup('{job="k"}', {"job": "k"}, 1, "PUT", {}), replace_all=True)
    s.close()
    s = SqlitePushGroupStore(tmp_path / "pg.db")
    assert [g.key for g in s.groups()] == ['{job="j"}', '{job="k"}']
    assert s.delete('{job="j"}') is True
    assert s.delete('{job="j"}') is False
    assert [g.key for g in s.groups()] == ['{job="k"}']
    s.close()


def test_driver_errors_become_storage_errors(store, monkeypatch):
    class Broken:
        def execute(self, *a):
            raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_db", Broken())  # failure injection
    with pytest.raises(StorageError, match="disk I/O error"):
        store.groups()
    with pytest.raises(StorageError):
        store.delete("x")
