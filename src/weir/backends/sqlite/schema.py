"""The SQLite schema of the metrics store.

- `log`: one row per acknowledged request (the write-ahead log). Appending one row per
  batch, not one per point, is what makes durable ingest cheap.
- `chunks`: sorted, de-duplicated runs of one series' points (int64 ns timestamps and
  float64 values packed as arrays), written when the in-memory head is flushed; the log
  rows it covers are deleted in the same transaction.
- `series`: the series index (name, canonical key, dimensions, type, unit).
- `export_changed`: closed hours that received points after they closed, so their export
  is redone (see `export_state`); written in the same transaction as the points.

Schema 2 (reads at scale, docs/architecture.md "Storage"):
- `chunks.fmt`: 1 for the arrays schema 1 wrote, 2 for compressed columns
  (`weir.metrics.encoding.columns`); both are read, and finalising an hour rewrites 1 as 2.
- `pending`: (hour, series) pairs whose chunks changed since the hour was last finalised:
  every flush adds its pairs. Finalising (`rollups.py`) merges a pair's chunks into one
  and writes its hourly rollup, then deletes the pair: a late write re-opens its hour.
- `hourly`: per series and UTC day, that day's hourly rollups as fixed-size records
  (`rollups.HOUR_RECORD`); `hourly_sketch`: the same hours' quantile sketches, apart, as
  only percentile queries past the raw retention read them.
- `hourly_first` (schema 4): per series and day, each finalised hour's first point and
  whether its points fall in distinct milliseconds (`records.FIRST_RECORD`): with the
  hourly records, what PromQL's `*_over_time` over whole hours reads (`weir.promql.hourly`).
- `minutely`: per series and hour, minute rollups as compressed columns, written when
  the hour's points expire (the raw points answer minute queries until then).

A chunk never crosses an hour boundary (UTC). That bounds every chunk's
`t_max` to the hour of its `t_min`, so "all chunks overlapping [start, end)" becomes the
range `start <= t_max < ceil_hour(end)` on the `chunks_age` index: an hourly export reads
that hour's chunks and never walks the newer ones (see `window_bounds`).
"""

from __future__ import annotations

import os
import sqlite3
from bisect import bisect_left

from weir.errors import StorageError

from . import txn
from .sqltext import fill

# 4: `hourly_first` (hours finalised before it have no row there: PromQL reads their points).
# 3: chunk columns may be bit-packed (`columns.COMP_BITS`). The tables are those of 2; the
# number changes so that an older Weir refuses such a folder as newer, untouched, instead
# of finding chunks it cannot decode and calling the folder damaged.
VERSION = 4
HOUR_NS = 3600 * 1_000_000_000
DAY_NS = 24 * HOUR_NS

TABLES = """
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
# What schema 2 adds to schema 1 (run in the upgrade's transaction, or after TABLES).
TABLES_2 = """
CREATE TABLE IF NOT EXISTS pending (
    hour INTEGER NOT NULL,
    series_id INTEGER NOT NULL,
    PRIMARY KEY (hour, series_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hourly (series_id INTEGER NOT NULL, day INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS hourly_series ON hourly (series_id, day);
CREATE INDEX IF NOT EXISTS hourly_age ON hourly (day);
CREATE TABLE IF NOT EXISTS hourly_sketch (series_id INTEGER NOT NULL, day INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS hourly_sketch_series ON hourly_sketch (series_id, day);
CREATE INDEX IF NOT EXISTS hourly_sketch_age ON hourly_sketch (day);
CREATE TABLE IF NOT EXISTS hourly_first (
    series_id INTEGER NOT NULL, day INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (series_id, day)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS minutely (series_id INTEGER NOT NULL, hour INTEGER NOT NULL, data BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS minutely_series ON minutely (series_id, hour);
CREATE INDEX IF NOT EXISTS minutely_age ON minutely (hour);
"""
FMT_ARRAYS, FMT_COLUMNS = 1, 2


def connect(path: str, *, readonly: bool = False) -> sqlite3.Connection:
    new = not readonly and (not os.path.exists(path) or os.path.getsize(path) == 0)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    if new:
        # Before anything writes the header: a new database hands the pages it frees (the
        # log after each flush, chunks rewritten by finalising) back to the file system
        # on `PRAGMA incremental_vacuum`, which the store runs after its background steps.
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL: the WAL is fsynced at every commit, so an acknowledged point survives a power
    # cut, not just a killed process.
    conn.execute("PRAGMA synchronous=FULL")
    if readonly:
        conn.execute("PRAGMA query_only=1")
    return conn


def unreadable(path: object, exc: Exception) -> StorageError:
    return StorageError(f"{path} cannot be read as a Weir metrics database ({exc}); nothing was changed. "
                        "Move it away or point --data-dir at another folder.")


def migrate(conn: sqlite3.Connection, path: object = "the metrics database") -> int:
    """Create or upgrade the schema; returns the version found (0 for a new database).

    An upgrade from schema 1 is one transaction: it adds the new tables and the `fmt`
    column, and marks every stored (hour, series) pending, so finalising (`rollups.py`)
    rewrites the old chunks compressed and builds their rollups, an hour at a time, each
    hour in its own transaction: a kill at any point leaves every point readable, and
    the work resumes on the next start. A database Weir cannot read is refused, untouched.
    """
    try:
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        found = schema_version(conn) if "meta" in tables else (0 if not tables else -1)
    except sqlite3.DatabaseError as exc:
        raise unreadable(path, exc) from None
    if found < 0:
        raise StorageError(f"{path} is an SQLite database Weir did not write (no schema version); nothing "
                           "was changed. Point --data-dir at a Weir data folder or an empty one.")
    if found > VERSION:
        raise StorageError(
            f"the data folder was written by a newer Weir (schema {found}, this one knows {VERSION})"
        )
    if found == VERSION:
        conn.executescript(TABLES + TABLES_2)  # no-ops, but a table dropped by hand comes back
        return found
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in (TABLES + TABLES_2).split(";"):
            if statement.strip():
                conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(chunks)")}
        if "fmt" not in columns:
            conn.execute(f"ALTER TABLE chunks ADD COLUMN fmt INTEGER NOT NULL DEFAULT {FMT_ARRAYS}")
        if found < 2:  # schema 1's arrays: every stored hour to rewrite (2 -> 3 changes no row)
            conn.execute(
                fill("INSERT OR IGNORE INTO pending (hour, series_id) "
                     "SELECT DISTINCT t_min - (t_min % {hour}), series_id FROM chunks WHERE fmt = {fmt}",
                     hour=HOUR_NS, fmt=FMT_ARRAYS)
            )
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", (str(VERSION),))
        conn.execute("COMMIT")
    except BaseException:
        txn.rollback(conn)  # never over the error that stopped it (a full disk)
        raise
    return found


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




def compact(path) -> None:
    """VACUUM the database (with no store open on it): pages freed by the upgrade go back
    to the file system, and a folder made before schema 2 gains incremental auto-vacuum."""
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    try:
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")  # takes effect with the VACUUM
        conn.execute("VACUUM")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
