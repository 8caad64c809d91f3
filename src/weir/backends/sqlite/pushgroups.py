"""Pushgateway group membership on SQLite (see `weir.wire.pushgateway` for what it means).

A file of its own (`pushgroups.db` in the data folder), not a table of the metrics store:
pushes are rare and small, and the metrics store's single writer thread stays dedicated to
points. Each call is one short transaction on the caller's thread, under a lock.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Literal

import msgspec

from weir.errors import StorageError
from weir.metrics.ports import PushGroup

from . import schema, txn

DDL = """
CREATE TABLE IF NOT EXISTS push_group (
    key TEXT PRIMARY KEY,
    labels TEXT NOT NULL,
    pushed_ns INTEGER NOT NULL,
    method TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS push_member (
    group_key TEXT NOT NULL,
    family TEXT NOT NULL,
    series_key TEXT NOT NULL,
    PRIMARY KEY (group_key, family, series_key)
) WITHOUT ROWID;
"""


class SqlitePushGroupStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = schema.connect(str(path))
            self._db.executescript(DDL)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open the push-group store {path}: {exc}") from None

    def record(self, group: PushGroup, *, replace_all: bool) -> None:
        rows = [(group.key, f, k) for f, keys in group.members.items() for k in keys]
        with self._lock, _translated("record a push group"), txn.immediate(self._db) as db:
            db.execute(
                "INSERT INTO push_group VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET "
                "labels=excluded.labels, pushed_ns=excluded.pushed_ns, method=excluded.method",
                (group.key, msgspec.json.encode(group.labels).decode(), group.pushed_ns, group.method),
            )
            if replace_all:
                db.execute("DELETE FROM push_member WHERE group_key=?", (group.key,))
            else:
                db.executemany(
                    "DELETE FROM push_member WHERE group_key=? AND family=?",
                    [(group.key, f) for f in group.members],
                )
            db.executemany("INSERT OR REPLACE INTO push_member VALUES (?, ?, ?)", rows)

    def delete(self, key: str) -> bool:
        with self._lock, _translated("delete a push group"), txn.immediate(self._db) as db:
            found = db.execute("DELETE FROM push_group WHERE key=?", (key,)).rowcount > 0
            db.execute("DELETE FROM push_member WHERE group_key=?", (key,))
        return found

    def groups(self) -> list[PushGroup]:
        with self._lock, _translated("read push groups"):
            heads = self._db.execute("SELECT key, labels, pushed_ns, method FROM push_group ORDER BY key").fetchall()
            members = self._db.execute(
                "SELECT group_key, family, series_key FROM push_member ORDER BY group_key, family, series_key"
            ).fetchall()
        out = {k: PushGroup(k, msgspec.json.decode(labels), ns, m) for k, labels, ns, m in heads}
        for gk, family, series_key in members:
            if gk in out:
                out[gk].members.setdefault(family, []).append(series_key)
        return list(out.values())

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _translated:
    """sqlite3 errors → StorageError (503), so the API never answers a driver error as a 500."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> Literal[False]:
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"could not {self.what}: {exc}") from None
        return False
