"""The push-group store port on SQLite: replace, add, delete, survive a reopen."""

from __future__ import annotations

import sqlite3

import pytest

from weir.backends.sqlite.pushgroups import SqlitePushGroupStore
from weir.errors import StorageError
from weir.ports import PushGroup


@pytest.fixture
def store(tmp_path):
    s = SqlitePushGroupStore(tmp_path / "pg.db")
    yield s
    s.close()


def group(members, method="PUT", ns=1):
    return PushGroup('{job="j"}', {"job": "j"}, ns, method, members)


def test_put_replaces_all_post_replaces_named_families(store):
    store.record(group({"a": ["a1", "a2"], "b": ["b1"]}), replace_all=True)
    store.record(group({"b": ["b2"], "c": ["c1"]}, "POST", 2), replace_all=False)
    [g] = store.groups()
    assert g.members == {"a": ["a1", "a2"], "b": ["b2"], "c": ["c1"]}
    assert (g.method, g.pushed_ns, g.labels) == ("POST", 2, {"job": "j"})
    store.record(group({"c": [], "d": ["d1"]}, "POST", 3), replace_all=False)
    assert store.groups()[0].members == {"a": ["a1", "a2"], "b": ["b2"], "d": ["d1"]}
    store.record(group({"e": ["e1"]}, "PUT", 4), replace_all=True)
    assert store.groups()[0].members == {"e": ["e1"]}


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
