"""A data folder as the previous release (schema 1) wrote it, made by this test code.

The old code path is kept here only: schema 1's DDL and its chunk layout (a series' sorted
points within one hour as raw int64 timestamps and float64 values), and its log rows (one
packed batch each, the layout schema 2 still uses). Upgrade tests write such a folder and
open it with today's code.
"""

from __future__ import annotations

import sqlite3
from array import array
from pathlib import Path

import msgspec

from weir.metrics.series import Series

HOUR = 3600 * 10**9
V1_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL, dimensions TEXT NOT NULL,
    type TEXT NOT NULL, unit TEXT
);
CREATE INDEX IF NOT EXISTS series_name ON series (name);
CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, t_min INTEGER NOT NULL, t_max INTEGER NOT NULL,
    n INTEGER NOT NULL, ts BLOB NOT NULL, vals BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_series ON chunks (series_id, t_max);
CREATE INDEX IF NOT EXISTS chunks_age ON chunks (t_max);
"""


def _chunk_rows(sid: int, points: dict[int, float]) -> list[tuple]:
    """Schema 1's flush: sorted, unique, split at hours (and 4,096 points)."""
    ts = sorted(points)
    rows, i = [], 0
    while i < len(ts):
        hour_end = ts[i] - ts[i] % HOUR + HOUR
        j = i
        while j < len(ts) and ts[j] < hour_end and j - i < 4096:
            j += 1
        t = ts[i:j]
        rows.append((sid, t[0], t[-1], len(t), array("q", t).tobytes(), array("d", [points[x] for x in t]).tobytes()))
        i = j
    return rows


def write_v1(path: Path, series: list[Series], flushes: list[dict[int, dict[int, float]]],
             unflushed: list[tuple[int, int, float]] = ()) -> None:
    """A schema-1 metrics database: the series, each flush's points (series id → time →
    value) as chunk rows, in order (so a later flush's point wins at the same instant),
    then `unflushed` (series id, time, value) points as one log row."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(V1_DDL)
    conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    conn.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?)",
                     [(s.id, s.name, s.key, msgspec.json.encode(s.dimensions).decode(), s.type, s.unit)
                      for s in series])
    for flush in flushes:
        for sid, points in flush.items():
            conn.executemany("INSERT INTO chunks (series_id, t_min, t_max, n, ts, vals) VALUES (?,?,?,?,?,?)",
                             _chunk_rows(sid, points))
    if unflushed:
        n = len(unflushed)
        blob = (n.to_bytes(4, "little") + array("q", [sid for sid, _, _ in unflushed]).tobytes()
                + array("q", [t for _, t, _ in unflushed]).tobytes()
                + array("d", [v for _, _, v in unflushed]).tobytes())
        conn.execute("INSERT INTO log (data) VALUES (?)", (blob,))
    conn.close()
