"""The export watermark in the data folder's SQLite `meta` table, one row per destination.

Its own connection: the store's writer thread owns the other one, and this write (one
small row an hour) simply waits its turn on SQLite's lock (busy timeout 30 s). Keyed by
destination URL, so pointing exports somewhere new starts that destination afresh.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from weir.errors import StorageError

from . import schema

_PREFIX = "export.last_hour "


class SqliteExportState:
    def __init__(self, path: Path) -> None:
        self._conn = schema.connect(str(path))
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        self._lock = threading.Lock()

    def last_exported(self, destination: str) -> int | None:
        with self._lock:
            try:
                row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (_PREFIX + destination,)).fetchone()
            except sqlite3.Error as exc:
                raise StorageError(f"could not read the export watermark: {exc}") from exc
        return int(row[0]) if row else None

    def set_last_exported(self, destination: str, hour_ns: int) -> None:
        with self._lock:
            try:
                self._conn.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (_PREFIX + destination, str(hour_ns)),
                )
            except sqlite3.Error as exc:
                raise StorageError(f"could not save the export watermark: {exc}") from exc

    def close(self) -> None:
        self._conn.close()
