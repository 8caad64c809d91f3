"""Chunk rows of the SQLite store, and the byte layout of its log; shared by the store and
the read-only reader. Merging and trimming lists are `weir.metrics.points`'.

A log row packs one acknowledged batch, with a checksum (`logrow`). A chunk row holds one series' sorted, unique
points within one UTC hour as two compressed columns (`weir.metrics.encoding.columns`,
`fmt` 2), or, in folders written before schema 2 and not yet rewritten, as raw
int64/float64 arrays (`fmt` 1).

`read_arrays` is the query path's read (numpy): the rows of many series come back in one
SQL query, ordered by series and time, and are decoded in bulk. Rows of one series that
overlap (an hour not finalised yet, holding several flushes or late writes) are merged
so that the row written last wins; the head's points, newer than any row, win over all.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from itertools import chain
from typing import TYPE_CHECKING

import msgspec

from weir.errors import TooManyPointsError
from weir.metrics.encoding.columns import decode_ts, decode_vals, encode_ts, encode_vals
from weir.metrics.points import Run, merge, trim
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series

from . import logrow
from .schema import FMT_COLUMNS, split_at_hours

if TYPE_CHECKING:
    import sqlite3

    from weir.metrics.arrays import SeriesArrays

CHUNK_POINTS = 4096


def pack_batch(batch: PointBatch) -> bytes:
    """One log row, with its checksum (`logrow`)."""
    return logrow.pack(batch)


def unpack_batch(blob: bytes) -> tuple[list[int], list[int], list[float]]:
    """A log row's (series ids, timestamps, values); `logrow.LogRowError` when it is damaged."""
    return logrow.unpack(blob)


# INDEXED BY makes SQLite fail loudly rather than silently fall back to a full scan.
SCAN_SQL = (
    "SELECT series_id, id, fmt, ts, vals FROM chunks INDEXED BY chunks_age "
    "WHERE t_max >= ? AND t_max < ? AND t_min < ?"
)


def scan_result(
    rows: list, head: dict[int, tuple[list[int], list[float]]], lookup: Callable[[int], Series | None],
    start_ns: int, end_ns: int,
) -> Iterator[tuple[Series, list[int], list[float]]]:
    """Group chunk rows (series_id, id, fmt, ts, vals) by series and merge each with its head part.

    `head` holds each series' head points in the window, already sorted and de-duplicated.
    """
    rows.sort(key=lambda r: (r[0], r[1]))  # write order within a series: later writes win
    by_series: dict[int, list] = {}
    for sid, _id, fmt, ts_blob, vals_blob in rows:
        by_series.setdefault(sid, []).append((fmt, ts_blob, vals_blob))
    for sid in sorted(by_series.keys() | head.keys()):
        part = head.get(sid)
        chunks = by_series.get(sid, [])
        if not chunks and part is None:
            continue
        series = lookup(sid)
        if series is None:  # forgotten by a retention sweep since: no points left to export
            continue
        ts, vals = trim(*merge_rows(chunks, part), start_ns, end_ns)
        if ts:
            yield series, ts, vals


def merge_rows(rows: list, head: Run | None) -> Run:
    """One series' chunk rows `(fmt, ts blob, vals blob)` in write order, then its head
    points (sorted, one per timestamp), as one run: later writes win."""
    runs: list[Run] = [decode_row(fmt, ts_blob, vals_blob) for fmt, ts_blob, vals_blob in rows]
    if head:
        runs.append(head)
    return merge(runs, each_sorted=True)


# (series_id, id, t_min, t_max, fmt, ts, vals, n), by series then end time then write order:
# the order of `chunks_series` itself (no sort of the rows in a temporary b-tree). Rows of a
# series that overlap are still found by comparing neighbours: in this order, if no row
# starts before the previous one ends, the rows are disjoint and sorted in time.
# The series list is bound as one JSON array (no statement built per list length).
_ROWS_SQL = (
    "SELECT series_id, id, t_min, t_max, fmt, ts, vals, n FROM chunks INDEXED BY chunks_series "
    "WHERE series_id IN (SELECT value FROM json_each(?)) AND t_max >= ? AND t_max < ? AND t_min < ? "
    "ORDER BY series_id, t_max, id"
)
INSERT_SQL = "INSERT INTO chunks (series_id, t_min, t_max, n, fmt, ts, vals) VALUES (?,?,?,?,?,?,?)"


def encode_rows(sid: int, ts: list[int], vals: list[float]) -> list[tuple]:
    """Rows for INSERT_SQL from sorted, unique points: split at hours and CHUNK_POINTS."""
    rows = []
    for i, j in split_at_hours(ts):
        for k in range(i, j, CHUNK_POINTS):
            e = min(j, k + CHUNK_POINTS)
            t, v = ts[k:e], vals[k:e]
            rows.append((sid, t[0], t[-1], len(t), FMT_COLUMNS, encode_ts(t), encode_vals(v)))
    return rows


def decode_row(fmt: int, ts_blob: bytes, vals_blob: bytes) -> tuple[list[int], list[float]]:
    """One chunk's points as lists (no numpy: flushing, finalising, exports)."""
    if fmt == FMT_COLUMNS:
        return decode_ts(ts_blob), decode_vals(vals_blob)
    ta, va = array("q"), array("d")
    ta.frombytes(ts_blob)
    va.frombytes(vals_blob)
    return ta.tolist(), va.tolist()


def select_rows(conn: sqlite3.Connection, sids: list[int], bounds: tuple[int, int, int],
                window: tuple[int, int] | None = None, limit: int | None = None) -> list[tuple]:
    """The chunk rows of these series overlapping `bounds` (`schema.window_bounds`).

    With a `limit`, the rows are fetched a batch at a time and the points they hold within
    `window` [start, end) counted as they come (`points_within`): past the limit the read
    stops with TooManyPointsError, before any value is decoded and with at most a batch
    more of compressed rows in memory."""
    if not sids:
        return []
    cursor = conn.execute(_ROWS_SQL, (msgspec.json.encode(sids).decode(), *bounds))
    if limit is None or window is None:
        return cursor.fetchall()
    rows: list[tuple] = []
    stored = 0  # points the rows hold, whole chunks
    counted: int | None = None  # points within the window, once the whole chunks are too many
    while batch := cursor.fetchmany(50_000):
        rows += batch
        stored += sum(r[7] for r in batch)
        if counted is None and stored > limit:
            counted = points_within(rows, *window)
        elif counted is not None:
            counted += points_within(batch, *window)
        if counted is not None and counted > limit:
            raise TooManyPointsError(limit, counted)
    return rows


def points_within(rows: list[tuple], start: int, end: int) -> int:
    """Points of these rows in [start, end): a row inside counts whole, from its metadata;
    only the timestamps of rows across an edge are decoded (numpy)."""
    total = 0
    edges = []
    for r in rows:
        if r[2] >= start and r[3] < end:
            total += r[7]
        elif r[3] >= start and r[2] < end:
            edges.append(r)
    if edges:
        ts = _timestamps(edges)
        total += int(((ts >= start) & (ts < end)).sum())
    return total


def _timestamps(rows: list[tuple]):
    import numpy as np

    from weir.metrics.encoding.bulk import decode_ts_many

    if all(r[4] == FMT_COLUMNS for r in rows):
        return decode_ts_many([r[5] for r in rows])[1]
    return np.array([t for r in rows for t in decode_row(r[4], r[5], r[6])[0]], dtype=np.int64)


def read_arrays(
    rows: list[tuple], head: dict[int, tuple[list[int], list[float]]], start: int, end: int
) -> SeriesArrays:
    """The points in [start, end) of the rows (as `select_rows` orders them) and head parts."""
    import numpy as np

    from weir.metrics.arrays import SeriesArrays, trim
    from weir.metrics.encoding.small import decode_chunks

    if rows:
        if all(r[4] == FMT_COLUMNS for r in rows):
            lens, ts, vals = decode_chunks([r[5] for r in rows], [r[6] for r in rows])
        else:  # a folder still being upgraded: decode row by row
            parts = [decode_row(r[4], r[5], r[6]) for r in rows]
            lens = np.array([len(p[0]) for p in parts], dtype=np.int64)
            ts = np.array([t for p in parts for t in p[0]], dtype=np.int64)
            vals = np.array([v for p in parts for v in p[1]], dtype=np.float64)
        # one flat iterator, not a list of tuples: numpy reads tuples element by element
        meta = np.fromiter(chain.from_iterable(r[:4] for r in rows), dtype=np.int64, count=4 * len(rows))
        meta = meta.reshape(len(rows), 4)
        sid, t_min, t_max = meta[:, 0], meta[:, 2], meta[:, 3]
        new_series = np.empty(len(rows), dtype=bool)
        new_series[0] = True
        np.not_equal(sid[1:], sid[:-1], out=new_series[1:])
        firsts = np.flatnonzero(new_series)
        ids = sid[firsts]
        series_lens = np.add.reduceat(lens, firsts)
        # rows of a series overlap when one starts before the previous one ends
        overlap = np.zeros(len(rows), dtype=bool)
        overlap[1:] = ~new_series[1:] & (t_min[1:] <= t_max[:-1])
        block = SeriesArrays(ids, series_lens, ts, vals)
        if overlap.any():
            block = _merge_overlaps(block, rows, lens, firsts, overlap)
    else:
        block = SeriesArrays.empty()
    if head:
        block = _add_head(block, head)
    block = trim(block, start, end)
    return block


def _merge_overlaps(block, rows, lens, firsts, overlap):
    """Series whose rows overlap: their points merged in write order (row id), latest wins."""
    import numpy as np

    from weir.metrics.arrays import SeriesArrays, latest_wins

    series_of_row = np.cumsum(np.isin(np.arange(len(rows)), firsts)) - 1
    bad = set(series_of_row[overlap].tolist())
    row_starts = np.cumsum(lens) - lens
    parts = []
    offsets = block.offsets
    for i, (sid, n) in enumerate(zip(block.ids.tolist(), block.lens.tolist())):
        o = int(offsets[i])
        if i not in bad:
            parts.append((sid, block.ts[o : o + n], block.vals[o : o + n]))
            continue
        mine = np.flatnonzero(series_of_row == i)
        mine = mine[np.argsort([rows[k][1] for k in mine], kind="stable")]  # by row id: write order
        ts = np.concatenate([block.ts[row_starts[k] : row_starts[k] + lens[k]] for k in mine])
        vals = np.concatenate([block.vals[row_starts[k] : row_starts[k] + lens[k]] for k in mine])
        parts.append((sid, *latest_wins(ts, vals)))
    return SeriesArrays.from_series(parts)


def _add_head(block, head):
    """The head's points (sorted, unique, newer than every row) after each series' rows."""
    import numpy as np

    from weir.metrics.arrays import SeriesArrays, latest_wins

    parts = []
    seen = set()
    for sid, ts, vals in block.items():
        got = head.get(sid)
        if got is None:
            parts.append((sid, ts, vals))
            continue
        seen.add(sid)
        hts = np.array(got[0], dtype=np.int64)
        hvals = np.array(got[1], dtype=np.float64)
        if len(ts) and hts[0] <= ts[-1]:
            parts.append((sid, *latest_wins(np.concatenate([ts, hts]), np.concatenate([vals, hvals]))))
        else:
            parts.append((sid, np.concatenate([ts, hts]), np.concatenate([vals, hvals])))
    for sid in sorted(head.keys() - seen):
        ts, vals = head[sid]
        parts.append((sid, np.array(ts, dtype=np.int64), np.array(vals, dtype=np.float64)))
    return SeriesArrays.from_series(parts)

