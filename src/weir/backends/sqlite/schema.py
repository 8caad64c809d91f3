"""The SQLite schema of the metrics store.

- `log`: one row per acknowledged request (the write-ahead log). Appending one row per
  batch, not one per point, is what makes durable ingest cheap.
- `chunks`: sorted, de-duplicated runs of one series' points (int64 ns timestamps and
  float64 values packed as arrays), written when the in-memory head is flushed; the log
  rows it covers are deleted in the same transaction.
- `series`: the series index (name, canonical key, dimensions, type, unit).
- `export_changed`: closed hours that received points after they closed, so their export
  is redone (see `export_state`); written in the same transaction as the points.

A chunk never crosses an hour boundary (UTC). That bounds every chunk's
`t_max` to the hour of its `t_min`, so "all chunks overlapping [start, end)" becomes the
range `start <= t_max < ceil_hour(end)` on the `chunks_age` index: an hourly export reads
that hour's chunks and never walks the newer ones (see `window_bounds`).
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left

from weir.errors import StorageError

VERSION = 1
HOUR_NS = 3600 * 1_000_000_000

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
CREATE TABLE IF NOT EXISTS export_changed (
    hour INTEGER PRIMARY KEY, version INTEGER NOT NULL, changed_ns INTEGER NOT NULL
);
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
        return
    found = int(row[0])
    if found > VERSION:
        raise StorageError(
            f"the data folder was written by a newer Weir (schema {found}, this one knows {VERSION})"
        )


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else 0


def split_at_hours(ts: list[int]) -> list[tuple[int, int]]:
    """Index ranges [i, j) of a sorted run such that no range crosses an hour boundary."""
    ranges = []
    i, n = 0, len(ts)
    while i < n:
        limit = (ts[i] // HOUR_NS + 1) * HOUR_NS
        j = bisect_left(ts, limit, i)
        ranges.append((i, j))
        i = j
    return ranges


def window_bounds(start_ns: int, end_ns: int) -> tuple[int, int, int]:
    """(t_max low, t_max high, t_min high) for chunks overlapping [start, end).

    A chunk overlaps iff t_max >= start and t_min < end. As no chunk crosses an hour,
    t_min < end implies t_max < end rounded up to the hour, which bounds the index range.
    """
    ceil_end = -((-end_ns) // HOUR_NS) * HOUR_NS
    return start_ns, ceil_end, end_ns


