"""API key digests in `<data-dir>/keys.db`, shared by `weir keys` and a running server.

The server re-reads the digests only when SQLite's `data_version` says another
connection committed, so `weir keys add/rm` takes effect at once without a restart and
without a query per request.
"""

from __future__ import annotations

import builtins
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from weir.auth import KeyRecord, check_name
from weir.errors import InvalidInputError, damaged

_DDL = """CREATE TABLE IF NOT EXISTS api_keys (
    name TEXT PRIMARY KEY, created TEXT NOT NULL, digest TEXT NOT NULL UNIQUE)"""


class SqliteKeyStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=10)
        try:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute(_DDL)
        except sqlite3.DatabaseError as exc:  # garbage in the file: say which, and the way out
            self._conn.close()
            raise damaged(path, str(exc)) from None
        self._lock = threading.Lock()
        self._version = -1
        self._digests: list[str] = []

    def add(self, name: str, digest: str) -> KeyRecord:
        check_name(name)
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            try:
                self._conn.execute("INSERT INTO api_keys VALUES (?, ?, ?)", (name, created, digest))
                self._version = -1  # data_version only moves for other connections' commits
            except sqlite3.IntegrityError:
                raise InvalidInputError(
                    f"name: a key named {name!r} exists; remove it first or pick another name"
                ) from None
        return KeyRecord(name, created, digest)

    def list(self) -> builtins.list[KeyRecord]:
        with self._lock:
            rows = self._conn.execute("SELECT name, created, digest FROM api_keys ORDER BY name").fetchall()
        return [KeyRecord(*r) for r in rows]

    def remove(self, name: str) -> bool:
        with self._lock:
            self._version = -1
            return self._conn.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount > 0

    def digests(self) -> builtins.list[str]:
        with self._lock:
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._digests = [d for (d,) in self._conn.execute("SELECT digest FROM api_keys")]
                self._version = version
            return self._digests

    def close(self) -> None:
        with self._lock:
            self._conn.close()
