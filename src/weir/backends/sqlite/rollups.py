"""Finalised hours and rollups in the SQLite store (run by the store's writer thread).

- `finalise`: for (hour, series) pairs in `pending` whose hour closed at least a grace
  ago, merge the pair's chunks into one (the row written last wins at equal times),
  write its hourly record and sketch, and delete the pair; one hour per transaction,
  so a kill loses nothing and the next start carries on. An upgraded schema-1 folder
  is finalised the same way: that is what rewrites its chunks compressed.
- `expire`: hours whose raw points are past the raw retention become minute rollups,
  in the same transaction that deletes their chunks (so every point is counted in
  exactly one of the two); rollups past their own retentions are deleted.
- `read_hourly` / `read_firsts` / `read_minutely` / `read_sketches`: what queries read (numpy).

Which hours a query may answer from hourly records: those not pending and with no
point in the head (`covered_hours`); within such an hour every stored point of every
series is in its record.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from weir.metrics.records import (
    FIRST_RECORD,
    HOUR_NS,
    MinuteColumns,
    first_dtype,
    first_record,
    hour_dtype,
    hour_record,
    merge_day,
    read_sketch_row,
    sketch_row,
)
from weir.metrics.sketch import Sketch

from . import txn
from .chunks import CHUNK_POINTS, INSERT_SQL, decode_row, encode_rows
from .schema import DAY_NS, FMT_COLUMNS
from .sqltext import fill, ident

if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable

    import numpy as np

log = logging.getLogger(__name__)
BATCH_SERIES = 500  # (hour, series) pairs finalised per transaction
_IDS = "(SELECT value FROM json_each(?))"


def _ids(sids) -> str:
    return msgspec.json.encode(sorted(sids)).decode()


@dataclass
class Progress:
    pairs: int = 0
    points: int = 0
    hours: set[int] = field(default_factory=set)


def backlog(conn: sqlite3.Connection, before_hour: int) -> int:
    """(hour, series) pairs waiting to be finalised among hours starting before `before_hour`."""
    return conn.execute("SELECT count(*) FROM pending WHERE hour < ?", (before_hour,)).fetchone()[0]


def finalise(w: sqlite3.Connection, before_hour: int, budget_s: float, done: Progress | None = None, *,
             batch: int = BATCH_SERIES, stop: Callable[[], bool] | None = None) -> Progress:
    """Finalise pending pairs of hours starting before `before_hour`, oldest first, for
    about `budget_s` seconds (at least one transaction of at most `batch` pairs), or until
    `stop()` says so after a transaction."""
    done = done or Progress()
    deadline = time.monotonic() + budget_s
    while True:
        pairs = w.execute(
            "SELECT hour, series_id FROM pending WHERE hour < ? ORDER BY hour, series_id LIMIT ?",
            (before_hour, batch),
        ).fetchall()
        if not pairs:
            return done
        hour = pairs[0][0]
        sids = [sid for h, sid in pairs if h == hour]
        done.points += _finalise_hour(w, hour, sids)
        done.pairs += len(sids)
        done.hours.add(hour)
        if time.monotonic() >= deadline or (stop is not None and stop()):
            return done


def _finalise_hour(w: sqlite3.Connection, hour: int, sids: list[int]) -> int:
    rows = w.execute(
        fill("SELECT series_id, id, fmt, ts, vals, n <= ? FROM chunks INDEXED BY chunks_series "
             "WHERE series_id IN {ids} AND t_max >= ? AND t_max < ? ORDER BY series_id, id", ids=_IDS),
        (CHUNK_POINTS, _ids(sids), hour, hour + HOUR_NS),
    ).fetchall()
    by_series: dict[int, list[tuple]] = defaultdict(list)
    for r in rows:
        by_series[r[0]].append(r)
    drop: list[int] = []
    insert: list[tuple] = []
    records: dict[int, bytes] = {}
    sketches: dict[int, bytes] = {}
    firsts: dict[int, bytes] = {}
    points = 0
    for sid, chunks in by_series.items():  # (series_id, id, fmt, ts, vals, fits one chunk)
        if len(chunks) == 1:
            ts, vals = decode_row(chunks[0][2], chunks[0][3], chunks[0][4])
        else:
            latest: dict[int, float] = {}
            for _, _, fmt, tb, vb, _ in chunks:  # by row id: write order, later writes win
                latest.update(zip(*decode_row(fmt, tb, vb)))
            ts = sorted(latest)
            vals = [latest[t] for t in ts]
        # Always rewritten as new rows, even a single compressed chunk (its bytes copied):
        # finalised chunks then fill pages densely in hour order, and the pages of the
        # flushes they replace empty out whole, for `incremental_vacuum` to hand back.
        drop += [c[1] for c in chunks]
        if len(chunks) == 1 and chunks[0][2] == FMT_COLUMNS and chunks[0][5]:
            insert.append((sid, ts[0], ts[-1], len(ts), FMT_COLUMNS, chunks[0][3], chunks[0][4]))
        else:
            insert += encode_rows(sid, ts, vals)
        records[sid] = hour_record(hour, ts, vals)
        sketches[sid] = Sketch.of(vals).encode()
        firsts[sid] = first_record(hour, ts, vals)
        points += len(ts)
    day = hour - hour % DAY_NS
    old = dict(w.execute(fill("SELECT series_id, data FROM hourly WHERE series_id IN {ids} AND day = ?", ids=_IDS),
                         (_ids(records), day)).fetchall())
    old_sk = dict(w.execute(fill("SELECT series_id, data FROM hourly_sketch WHERE series_id IN {ids} AND day = ?",
                                 ids=_IDS),
                            (_ids(records), day)).fetchall())
    old_first = dict(w.execute(fill("SELECT series_id, data FROM hourly_first WHERE series_id IN {ids} AND day = ?",
                                    ids=_IDS), (_ids(records), day)).fetchall())
    w.execute("BEGIN IMMEDIATE")
    try:
        w.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in drop])
        w.executemany(INSERT_SQL, insert)
        w.executemany(
            "INSERT INTO hourly (series_id, day, data) VALUES (?, ?, ?) "
            "ON CONFLICT (series_id, day) DO UPDATE SET data = excluded.data",
            [(sid, day, merge_day(old.get(sid), {hour: rec})) for sid, rec in records.items()],
        )
        w.executemany(
            "INSERT INTO hourly_sketch (series_id, day, data) VALUES (?, ?, ?) "
            "ON CONFLICT (series_id, day) DO UPDATE SET data = excluded.data",
            [(sid, day, sketch_row(old_sk.get(sid), {hour: sk})) for sid, sk in sketches.items()],
        )
        w.executemany(
            "INSERT INTO hourly_first (series_id, day, data) VALUES (?, ?, ?) "
            "ON CONFLICT (series_id, day) DO UPDATE SET data = excluded.data",
            [(sid, day, merge_day(old_first.get(sid), {hour: rec}, FIRST_RECORD.size)) for sid, rec in firsts.items()],
        )
        w.executemany("DELETE FROM pending WHERE hour = ? AND series_id = ?", [(hour, sid) for sid in sids])
        w.execute("COMMIT")
    except BaseException:
        txn.rollback(w)  # never over the error that stopped it (a full disk)
        raise
    return points


def expire(w: sqlite3.Connection, now_ns: int, raw_s: int, minute_s: int, hour_s: int, budget_s: float) -> int:
    """Turn hours past the raw retention into minute rollups; drop expired rollups.
    Returns the hours converted. Pending pairs of those hours must be finalised first."""
    raw_cut = (now_ns - raw_s * 10**9) // HOUR_NS * HOUR_NS  # hours ending by this have expired
    minute_cut = now_ns - minute_s * 10**9
    deadline = time.monotonic() + budget_s
    converted = 0
    while time.monotonic() < deadline or not converted:
        row = w.execute("SELECT min(t_max) FROM chunks INDEXED BY chunks_age WHERE t_max < ?", (raw_cut,)).fetchone()
        if row[0] is None:
            break
        hour = row[0] - row[0] % HOUR_NS
        _expire_hour(w, hour, keep_minutes=hour + HOUR_NS > minute_cut)
        converted += 1
    left = w.execute("SELECT 1 FROM chunks INDEXED BY chunks_age WHERE t_max < ? LIMIT 1", (raw_cut,)).fetchone()
    done = left is None
    w.execute("BEGIN IMMEDIATE")
    try:
        if done:  # every hour before raw_cut is minutes now: queries read no raw points there
            _advance_watermark(w, raw_cut)
        w.execute("DELETE FROM minutely WHERE hour + ? <= ?", (HOUR_NS, minute_cut))
        day_cut = now_ns - hour_s * 10**9
        w.execute("DELETE FROM hourly WHERE day + ? <= ?", (DAY_NS, day_cut))
        w.execute("DELETE FROM hourly_sketch WHERE day + ? <= ?", (DAY_NS, day_cut))
        w.execute("DELETE FROM hourly_first WHERE day + ? <= ?", (DAY_NS, day_cut))
        w.execute("COMMIT")
    except BaseException:
        txn.rollback(w)  # never over the error that stopped it (a full disk)
        raise
    return converted


def _expire_hour(w: sqlite3.Connection, hour: int, keep_minutes: bool) -> None:
    rows = w.execute(
        "SELECT series_id, fmt, ts, vals FROM chunks INDEXED BY chunks_age WHERE t_max >= ? AND t_max < ? "
        "ORDER BY series_id, id", (hour, hour + HOUR_NS),
    ).fetchall()
    minutes = []
    if keep_minutes:
        by_series: dict[int, dict[int, float]] = defaultdict(dict)
        for sid, fmt, tb, vb in rows:
            by_series[sid].update(zip(*decode_row(fmt, tb, vb)))
        for sid, latest in by_series.items():
            ts = sorted(latest)
            minutes.append((sid, hour, MinuteColumns.of(ts, [latest[t] for t in ts]).encode()))
    w.execute("BEGIN IMMEDIATE")
    try:
        w.executemany(
            "INSERT INTO minutely (series_id, hour, data) VALUES (?, ?, ?) "
            "ON CONFLICT (series_id, hour) DO UPDATE SET data = excluded.data", minutes,
        )
        w.execute("DELETE FROM chunks WHERE t_max >= ? AND t_max < ?", (hour, hour + HOUR_NS))
        _advance_watermark(w, hour + HOUR_NS)  # with the conversion: a reader sees both or neither
        w.execute("COMMIT")
    except BaseException:
        txn.rollback(w)  # never over the error that stopped it (a full disk)
        raise


# -- reads (numpy) ---------------------------------------------------------------------


def _advance_watermark(w: sqlite3.Connection, hour: int) -> None:
    w.execute("INSERT INTO meta VALUES ('minutes_until', ?) ON CONFLICT (key) DO UPDATE SET "
              "value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))", (str(hour),))


def minutes_until(r: sqlite3.Connection) -> int:
    """Hours starting before this have been turned into minute rollups (their raw points expired)."""
    row = r.execute("SELECT value FROM meta WHERE key = 'minutes_until'").fetchone()
    return int(row[0]) if row else 0


def pending_hours(r: sqlite3.Connection, first: int, end: int) -> set[int]:
    """The hours in [first, end) with a pending (hour, series) pair: one seek on the primary
    key per hour found, not a walk over every pair (`SELECT DISTINCT hour` read all of an
    hour's million rows at 1M series: 50 ms on every query that touched rollups)."""
    out: set[int] = set()
    while first < end:
        (hour,) = r.execute("SELECT min(hour) FROM pending WHERE hour >= ? AND hour < ?", (first, end)).fetchone()
        if hour is None:
            break
        out.add(hour)
        first = hour + 1
    return out


def read_hourly(r: sqlite3.Connection, sids: list[int], first: int, end: int) -> dict[str, np.ndarray]:
    """Hourly records of these series for hours in [first, end): columns plus `sid`."""
    return _read_days(r, "hourly", hour_dtype(), sids, first, end)


def read_firsts(r: sqlite3.Connection, sids: list[int], first: int, end: int) -> dict[str, np.ndarray]:
    """The `records.FIRST_RECORD`s of these series for hours in [first, end): columns plus `sid`."""
    return _read_days(r, "hourly_first", first_dtype(), sids, first, end)


def _read_days(r: sqlite3.Connection, table: str, dtype, sids: list[int], first: int,
               end: int) -> dict[str, np.ndarray]:
    """Fixed-size records (`dtype`, hour start `t` first) of these series, kept a day per
    row in `table`, for hours in [first, end): columns plus `sid`."""
    import numpy as np

    rows = r.execute(
        fill("SELECT series_id, data FROM {table} WHERE series_id IN {ids} AND day >= ? AND day < ?",
             table=ident(table), ids=_IDS),
        (_ids(sids), first - first % DAY_NS, end),
    ).fetchall()
    recs = np.frombuffer(b"".join(d for _, d in rows), dtype=dtype)
    owner = np.repeat(np.array([s for s, _ in rows], dtype=np.int64),
                      np.array([len(d) // dtype.itemsize for _, d in rows], dtype=np.int64))
    t = recs["t"]
    keep = (t >= first) & (t < end)
    if not keep.all():  # whole records out of the range first: masking each field costs 7x more
        recs, owner = recs[keep], owner[keep]
    out = {name: recs[name] for name in dtype.names or ()}  # strided views, no copies
    out["sid"] = owner
    return out


def read_minutely(r: sqlite3.Connection, sids: list[int], first: int, end: int) -> dict[str, np.ndarray]:
    """Minute records of these series for hours in [first, end): columns plus `sid`."""
    import numpy as np

    from weir.metrics.records import decode_minute_rows

    rows = r.execute(
        fill("SELECT series_id, data FROM minutely WHERE series_id IN {ids} AND hour >= ? AND hour < ?", ids=_IDS),
        (_ids(sids), first, end),
    ).fetchall()
    if not rows:
        empty_i, empty_f = np.empty(0, np.int64), np.empty(0)
        return {"sid": empty_i, "t": empty_i, "count": empty_i, "sum": empty_f, "min": empty_f, "max": empty_f,
                "last_ts": empty_i, "last": empty_f}
    cols = decode_minute_rows([d for _, d in rows])
    cols["sid"] = np.repeat(np.array([s for s, _ in rows], dtype=np.int64), cols.pop("lens"))
    return cols


def read_sketches(r: sqlite3.Connection, sids: list[int], first: int, end: int) -> list[tuple[int, int, Sketch]]:
    """(series id, hour, sketch) for hours in [first, end)."""
    rows = r.execute(
        fill("SELECT series_id, data FROM hourly_sketch WHERE series_id IN {ids} AND day >= ? AND day < ?", ids=_IDS),
        (_ids(sids), first - first % DAY_NS, end),
    ).fetchall()
    out = []
    for sid, data in rows:
        for hour, blob in read_sketch_row(data):
            if first <= hour < end:
                out.append((sid, hour, Sketch.decode(blob)))
    return out
