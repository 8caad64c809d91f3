"""The series index of the SQLite store: in the database, not loaded whole into memory.

Why: with a million series the store used to read every series row into dicts at start-up
(19 s and ~1 GB on the bench machine), and selecting one series by its dimensions walked
all of them (5.4 s). Now:

- `series` rows are read on demand: by id (a primary-key probe, behind an LRU cache of
  `CACHE_SIZE` series, for ingest's and the alert worker's lookups), by metric in key order
  (index `series_name_key`, so a listing pages with a cursor instead of sorting a million
  rows).
- `labels` is the inverted index: one row per (metric, dimension key, value, series), its
  primary key in that order (WITHOUT ROWID). Selecting by dimensions walks the rows of the
  most selective filter and probes the others, so its cost follows the series selected and
  the smallest filter, not the metric.
- Series counts per metric are kept in memory (one GROUP BY on the index at start-up), for
  `GET /metrics`, the cardinality limits and the TSDB status without a count per request.

Writes happen on the store's writer thread inside its commit (`insert`), and the in-memory
state follows once the commit is done (`committed`). Reads run on any thread, each on its
own read-only connection (`reader`), outside the store's lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

import msgspec

from weir.metrics.series import Series

from . import txn
from .sqltext import fill

CACHE_SIZE = 200_000
LABELS_VERSION = "1"  # meta key `labels_index`: the labels table was filled from `series`

DDL = """
CREATE TABLE IF NOT EXISTS labels (
    metric TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    series_id INTEGER NOT NULL,
    PRIMARY KEY (metric, key, value, series_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS series_name_key ON series (name, key);
"""

_COLUMNS = "id, name, dimensions, type, unit"
_BY_ID = fill("SELECT {cols} FROM series WHERE id = ?", cols=_COLUMNS)  # the one-series lookup, filled once
_decode = msgspec.json.Decoder(dict[str, str]).decode


def migrate(conn: sqlite3.Connection) -> None:
    """Create the labels table; fill it from `series` once (a data folder of an older Weir)."""
    conn.executescript(DDL)
    row = conn.execute("SELECT value FROM meta WHERE key='labels_index'").fetchone()
    if row is not None:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        rows = conn.execute("SELECT id, name, dimensions FROM series")
        conn.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?, ?, ?)",
                         (r for sid, name, dims in rows for r in _label_rows(sid, name, _decode(dims))))
        conn.execute("INSERT INTO meta VALUES ('labels_index', ?)", (LABELS_VERSION,))
        conn.execute("COMMIT")
    except BaseException:
        txn.rollback(conn)  # never over the error that stopped it (a full disk)
        raise


def _label_rows(sid: int, name: str, dims: dict[str, str]) -> list[tuple[str, str, str, int]]:
    return [(name, k, v, sid) for k, v in dims.items()]


def _series(row) -> Series:
    sid, name, dims, type_, unit = row
    return Series(sid, name, _decode(dims), type_, unit)


class SqliteSeriesIndex:
    def __init__(self, conn: sqlite3.Connection, reader: Callable[[], sqlite3.Connection]) -> None:
        """`conn`: the writer's connection (start-up counts, writes); `reader()`: the calling
        thread's read-only connection."""
        self._reader = reader
        self._lock = threading.Lock()
        self._cache: OrderedDict[int, Series] = OrderedDict()
        self._counts: dict[str, int] = dict(conn.execute("SELECT name, COUNT(*) FROM series GROUP BY name"))

    # -- reads ------------------------------------------------------------------------

    def get(self, series_id: int) -> Series | None:
        with self._lock:
            s = self._cache.get(series_id)
            if s is not None:
                self._cache.move_to_end(series_id)
                return s
        row = self._reader().execute(_BY_ID, (series_id,)).fetchone()
        if row is None:
            return None
        s = _series(row)
        self._remember(s)
        return s

    def get_many(self, ids: Iterable[int]) -> dict[int, Series]:
        """The stored series among `ids`, by id (500 per statement)."""
        wanted = sorted(set(ids))
        out: dict[int, Series] = {}
        conn = self._reader()
        for i in range(0, len(wanted), 500):
            part = wanted[i : i + 500]
            marks = ",".join("?" * len(part))
            for row in conn.execute(fill("SELECT {cols} FROM series WHERE id IN ({marks})", cols=_COLUMNS, marks=marks),
                                    part):
                out[row[0]] = _series(row)
        return out

    def counts(self) -> dict[str, int]:
        """Metric name → number of series (from memory)."""
        with self._lock:
            return {n: c for n, c in self._counts.items() if c}

    def select(self, name: str, filters: dict[str, str], *, limit: int | None = None,
               after: str | None = None) -> list[Series]:
        """The series of `name` whose dimensions include `filters`, by canonical key, at most
        `limit` of them, those with a key after `after` (a cursor)."""
        conn = self._reader()
        args: list = [name]
        where = "s.name = ?"
        if after is not None:
            where += " AND s.key > ?"
            args.append(after)
        tail = " ORDER BY s.key" + (" LIMIT ?" if limit is not None else "")
        if not filters:
            sql = ("SELECT s.id, s.name, s.dimensions, s.type, s.unit FROM series s INDEXED BY series_name_key"  # nosec B608  # fixed text
                   f" WHERE {where}{tail}")
        else:
            # one filter drives alone: counting its series to rank it would be a query for nothing
            items = list(filters.items())
            driver, *others = items if len(items) == 1 else sorted(
                items, key=lambda kv: self._selectivity(conn, name, *kv))
            probes = "".join(" AND EXISTS (SELECT 1 FROM labels o WHERE o.metric = ? AND o.key = ? AND o.value = ?"
                             " AND o.series_id = s.id)" for _ in others)
            # CROSS JOIN: SQLite keeps `labels` the outer loop, so the most selective filter drives
            # (else it may walk the metric's series in key order and probe the labels of each).
            sql = ("SELECT s.id, s.name, s.dimensions, s.type, s.unit FROM labels l CROSS JOIN series s"  # nosec B608  # fixed text
                   " ON s.id = l.series_id"
                   f" WHERE l.metric = ? AND l.key = ? AND l.value = ? AND {where}{probes}{tail}")
            args = [name, driver[0], driver[1], *args]
            for k, v in others:
                args += [name, k, v]
        if limit is not None:
            args.append(limit)
        found = [_series(row) for row in conn.execute(sql, args)]
        for s in found[:1000]:
            self._remember(s)
        return found

    def count(self, name: str, filters: dict[str, str], cap: int) -> int:
        """How many series `select` would return, counting no further than `cap` + 1."""
        return len(self.select(name, filters, limit=cap + 1)) if filters else min(self._counts.get(name, 0), cap + 1)

    @staticmethod
    def _selectivity(conn: sqlite3.Connection, name: str, key: str, value: str) -> int:
        """The filter's series, counted up to 1,001: enough to choose which filter drives."""
        return conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM labels WHERE metric = ? AND key = ? AND value = ? "
                            "LIMIT 1001)", (name, key, value)).fetchone()[0]

    def tsdb_rows(self) -> tuple[list[tuple[str, int, int]], list[tuple[str, str, int]]]:
        """For the cardinality view: per dimension key, (key, distinct values, bytes of those
        values); and every (key, value) pair with its series count, most series first."""
        conn = self._reader()
        keys = conn.execute("SELECT key, COUNT(*), SUM(LENGTH(CAST(value AS BLOB))) FROM "
                            "(SELECT DISTINCT key, value FROM labels) GROUP BY key").fetchall()
        pairs = conn.execute("SELECT key, value, COUNT(*) AS n FROM labels GROUP BY key, value "
                             "ORDER BY n DESC, key, value").fetchall()
        return keys, pairs

    # -- writes (the store's writer thread) ---------------------------------------------

    def insert(self, conn: sqlite3.Connection, new: Iterable[Series]) -> list[Series]:
        """Insert series not stored yet, in the caller's transaction; the ones inserted.

        Which are stored already is one query per 500, then two `executemany`: a statement
        per series cost four times the time."""
        todo = {s.id: s for s in new}
        ids = list(todo)
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            for (sid,) in conn.execute(fill("SELECT id FROM series WHERE id IN ({marks})", marks=marks), part):
                del todo[sid]
        inserted = list(todo.values())
        encode = msgspec.json.encode
        conn.executemany("INSERT INTO series VALUES (?, ?, ?, ?, ?, ?)",
                         [(s.id, s.name, s.key, encode(s.dimensions).decode(), s.type, s.unit) for s in inserted])
        conn.executemany("INSERT OR IGNORE INTO labels VALUES (?, ?, ?, ?)",
                         [r for s in inserted for r in _label_rows(s.id, s.name, s.dimensions)])
        return inserted

    def committed(self, inserted: Iterable[Series]) -> None:
        """After the commit of `insert`: count and cache them."""
        with self._lock:
            for s in inserted:
                self._counts[s.name] = self._counts.get(s.name, 0) + 1
                self._cache[s.id] = s
            while len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)

    def delete(self, conn: sqlite3.Connection, ids: list[int]) -> list[tuple[int, str]]:
        """Remove series (and their labels) in the caller's transaction; (id, name) removed."""
        gone = []
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            rows = conn.execute(fill("SELECT id, name, dimensions FROM series WHERE id IN ({marks})", marks=marks),
                                part)
            for sid, name, dims in rows.fetchall():
                conn.execute("DELETE FROM series WHERE id = ?", (sid,))
                conn.executemany("DELETE FROM labels WHERE metric = ? AND key = ? AND value = ? AND series_id = ?",
                                 _label_rows(sid, name, _decode(dims)))
                gone.append((sid, name))
        return gone

    def deleted(self, gone: Iterable[tuple[int, str]]) -> None:
        with self._lock:
            for sid, name in gone:
                self._cache.pop(sid, None)
                self._counts[name] = self._counts.get(name, 1) - 1
                if self._counts[name] <= 0:
                    del self._counts[name]

    def _remember(self, s: Series) -> None:
        with self._lock:
            self._cache[s.id] = s
            self._cache.move_to_end(s.id)
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
