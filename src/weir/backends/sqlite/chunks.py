"""The SQLite store's byte layouts and chunk reads, shared by the store and the read-only
reader: a log row packs one acknowledged batch; a chunk row holds one series' sorted run
as int64 timestamps and float64 values. Merging and trimming are `weir.metrics.points`'."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

from weir.metrics.points import Run, merge, trim
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series


def pack_batch(batch: PointBatch) -> bytes:
    n = len(batch)
    return (
        n.to_bytes(4, "little")
        + array("q", batch.series_ids).tobytes()
        + array("q", batch.timestamps).tobytes()
        + array("d", batch.values).tobytes()
    )


def unpack_batch(blob: bytes) -> tuple[list[int], list[int], list[float]]:
    n = int.from_bytes(blob[:4], "little")
    sids, tss, vals = array("q"), array("q"), array("d")
    columns: tuple[array, ...] = (sids, tss, vals)
    for i, column in enumerate(columns):
        column.frombytes(blob[4 + i * 8 * n : 4 + (i + 1) * 8 * n])
    return sids.tolist(), tss.tolist(), vals.tolist()


# INDEXED BY makes SQLite fail loudly rather than silently fall back to a full scan.
SCAN_SQL = (
    "SELECT series_id, id, ts, vals FROM chunks INDEXED BY chunks_age "
    "WHERE t_max >= ? AND t_max < ? AND t_min < ?"
)


def scan_result(
    rows: list, head: dict[int, tuple[list[int], list[float]]], lookup: Callable[[int], Series | None],
    start_ns: int, end_ns: int,
) -> Iterator[tuple[Series, list[int], list[float]]]:
    """Group chunk rows (series_id, id, ts, vals) by series and merge each with its head part.

    `head` holds each series' head points in the window, already sorted and de-duplicated.
    """
    rows.sort(key=lambda r: (r[0], r[1]))  # write order within a series: later writes win
    by_series: dict[int, list] = {}
    for sid, _id, ts_blob, vals_blob in rows:
        by_series.setdefault(sid, []).append((None, None, ts_blob, vals_blob))
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
    """One series' chunk rows `(t_min, t_max, ts blob, vals blob)` in write order, then its
    head points (sorted, one per timestamp), as one run: later writes win."""
    runs: list[Run] = []
    for _t_min, _t_max, ts_blob, vals_blob in rows:
        ta, va = array("q"), array("d")
        ta.frombytes(ts_blob)
        va.frombytes(vals_blob)
        runs.append((ta.tolist(), va.tolist()))
    if head:
        runs.append(head)
    return merge(runs, each_sorted=True)
