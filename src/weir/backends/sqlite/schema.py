"""The SQLite schema of the metrics store.

- `log`: one row per acknowledged request (the write-ahead log). Appending one row per
  batch, not one per point, is what makes durable ingest cheap.
- `chunks`: sorted, de-duplicated runs of one series' points (int64 ns timestamps and
  float64 values packed as arrays), written when the in-memory head is flushed; the log
  rows it covers are deleted in the same transaction.
- `series`: the series index (name, canonical key, dimensions, type, unit).
"""

from __future__ import annotations

import sqlite3

from weir.errors import StorageError

VERSION = 1

DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    key TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    type TEXT NOT NULL,
    unit TEXT
);
CREATE INDEX IF NOT EXISTS series_name ON series (name);
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY,
    series_id INTEGER NOT NULL,
    t_min INTEGER NOT NULL,
    t_max INTEGER NOT NULL,
    n INTEGER NOT NULL,
    ts BLOB NOT NULL,
    vals BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_series ON chunks (series_id, t_max);
CREATE INDEX IF NOT EXISTS chunks_age ON chunks (t_max);
"""


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an acknowledged point survives a power
    # cut, not just a killed process.
    conn.execute("PRAGMA synchronous=FULL")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    return conn


def migrate(conn: sqlite3.Connection) -> None:
    conn.executescript(DDL)
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    if row is None:
        conn.execute("INSERT INTO meta VALUES ('schema_version', ?)", (str(VERSION),))
    elif int(row[0]) > VERSION:
        raise StorageError(
            f"the data folder was written by a newer Weir (schema {row[0]}, this one knows {VERSION})"
        )
