"""Packing points into DynamoDB binary attributes.

A write unit is 1 KB of item, so bytes per point is the cost of a datapoint. Points are
stored as columns (int64 series ids, uint32 counts, int64 time deltas, float64 values)
and zlib-compressed. Timestamps are stored as differences from the previous point of the
same series, so regular intervals and repeated counts shrink to almost nothing,
leaving about 8 bytes of value and, in segments, 8 bytes of series id per point.

Chunks (one series, one hour, written by compaction and read by every query) use the
compressed columns of `weir.metrics.encoding` instead (format 2); format 1 chunks
(zlib over raw arrays) written before are still read until their TTL.
"""

from __future__ import annotations

import zlib
from array import array
from bisect import bisect_left
from hashlib import blake2b
from itertools import accumulate

from weir.metrics.encoding.columns import decode_ts, decode_vals, encode_ts, encode_vals
from weir.metrics.rollup import MINUTE_NS, Minutes

_VERSION = 1


def _arr(code: str, data: bytes) -> array:
    a = array(code)
    a.frombytes(data)
    return a


def encode_segment(points: dict[tuple[int, int], float]) -> tuple[bytes, bytes, int]:
    """(sid, ts) → value, for one segment. Returns (blob, content digest, first ts)."""
    keys = sorted(points)
    sids: list[int] = []
    counts: list[int] = []
    for sid, _ in keys:
        if sids and sids[-1] == sid:
            counts[-1] += 1
        else:
            sids.append(sid)
            counts.append(1)
    base = min(ts for _, ts in keys)
    deltas, prev_sid, prev = [], None, base
    for sid, ts in keys:
        deltas.append(ts - (prev if sid == prev_sid else base))
        prev_sid, prev = sid, ts
    raw = b"".join(
        (
            len(sids).to_bytes(4, "little"),
            len(keys).to_bytes(4, "little"),
            base.to_bytes(8, "little", signed=True),
            array("q", sids).tobytes(),
            array("I", counts).tobytes(),
            array("q", deltas).tobytes(),
            array("d", [points[k] for k in keys]).tobytes(),
        )
    )
    return bytes([_VERSION]) + zlib.compress(raw), blake2b(raw, digest_size=8).digest(), base


class Segment:
    """A decoded segment: look up one series' points without touching the others."""

    __slots__ = ("sids", "starts", "ts", "vals")

    def __init__(self, blob: bytes) -> None:
        if blob[0] != _VERSION:
            raise ValueError(f"unknown segment format {blob[0]}")
        raw = zlib.decompress(blob[1:])
        k = int.from_bytes(raw[0:4], "little")
        n = int.from_bytes(raw[4:8], "little")
        base = int.from_bytes(raw[8:16], "little", signed=True)
        o = 16
        self.sids = _arr("q", raw[o : o + 8 * k])
        o += 8 * k
        counts = _arr("I", raw[o : o + 4 * k])
        o += 4 * k
        deltas = _arr("q", raw[o : o + 8 * n])
        o += 8 * n
        self.vals = _arr("d", raw[o : o + 8 * n]).tolist()
        starts = [0]
        for c in counts:
            starts.append(starts[-1] + c)
        self.starts = starts
        if k == n:  # one point per series: no runs to add up
            self.ts = [base + d for d in deltas]
        else:
            ts: list[int] = []
            for a, b in zip(starts, starts[1:]):
                ts += list(accumulate(deltas[a:b], initial=base))[1:]
            self.ts = ts

    def series(self, sid: int) -> tuple[list[int], list[float]] | None:
        i = bisect_left(self.sids, sid)
        if i == len(self.sids) or self.sids[i] != sid:
            return None
        a, b = self.starts[i], self.starts[i + 1]
        return self.ts[a:b], self.vals[a:b]

    def all_series(self):
        for i, sid in enumerate(self.sids):
            a, b = self.starts[i], self.starts[i + 1]
            yield sid, self.ts[a:b], self.vals[a:b]


_CHUNK_COLUMNS = 2  # chunk format 2: compressed columns (`weir.metrics.encoding.columns`)


def encode_chunk(ts: list[int], vals: list[float]) -> bytes:
    """One series' sorted, unique points: timestamps and values as compressed columns
    (a write unit is 1 KB of item, and a gauge with one decimal takes ~1.2 bytes a point
    this way where zlib over raw arrays took ~8)."""
    t = encode_ts(ts)
    return bytes([_CHUNK_COLUMNS]) + len(t).to_bytes(4, "little") + t + encode_vals(vals)


def decode_chunk(blob: bytes) -> tuple[list[int], list[float]]:
    if blob[0] == _CHUNK_COLUMNS:
        n = int.from_bytes(blob[1:5], "little")
        return decode_ts(blob[5 : 5 + n]), decode_vals(blob[5 + n :])
    if blob[0] != _VERSION:  # format 1, written before: zlib over raw arrays
        raise ValueError(f"unknown chunk format {blob[0]}")
    raw = zlib.decompress(blob[1:])
    n = int.from_bytes(raw[0:4], "little")
    base = int.from_bytes(raw[4:12], "little", signed=True)
    o = 12 + 8 * (n - 1)
    ts = list(accumulate(_arr("q", raw[12:o]), initial=base))
    vals = _arr("d", raw[o : o + 8 * n]).tolist()
    return ts, vals


def encode_rollups(hour_ns: int, series: list[tuple[int, Minutes]]) -> bytes:
    """Minute rollups of several series in one hour, sorted by series id.

    Columns as for segments: per series its id and number of non-empty minutes; per
    minute its index in the hour (0-59), count, sum, min and max. About 29 bytes a
    minute before compression, whatever the number of points in it.
    """
    mins: list[int] = []
    counts: list[int] = []
    sums: list[float] = []
    los: list[float] = []
    his: list[float] = []
    for _, m in series:
        mins += [(t - hour_ns) // MINUTE_NS for t in m.ts]
        counts += m.count
        sums += m.sum
        los += m.min
        his += m.max
    raw = b"".join(
        (
            len(series).to_bytes(4, "little"),
            len(mins).to_bytes(4, "little"),
            array("q", [sid for sid, _ in series]).tobytes(),
            array("B", [len(m) for _, m in series]).tobytes(),
            array("B", mins).tobytes(),
            array("I", counts).tobytes(),
            array("d", sums).tobytes(),
            array("d", los).tobytes(),
            array("d", his).tobytes(),
        )
    )
    return bytes([_VERSION]) + zlib.compress(raw)


def decode_rollups(blob: bytes, hour_ns: int, wanted: set[int] | None = None) -> dict[int, Minutes]:
    """Series id → its minutes in the hour; only the `wanted` series when given."""
    if blob[0] != _VERSION:
        raise ValueError(f"unknown rollup format {blob[0]}")
    raw = zlib.decompress(blob[1:])
    k = int.from_bytes(raw[0:4], "little")
    n = int.from_bytes(raw[4:8], "little")
    o = 8
    sids = _arr("q", raw[o : o + 8 * k])
    o += 8 * k
    lens = raw[o : o + k]
    o += k
    mins = raw[o : o + n]
    o += n
    counts = _arr("I", raw[o : o + 4 * n])
    o += 4 * n
    cols = []
    for _ in range(3):
        cols.append(_arr("d", raw[o : o + 8 * n]))
        o += 8 * n
    sums, los, his = cols
    out: dict[int, Minutes] = {}
    a = 0
    for sid, ln in zip(sids, lens):
        b = a + ln
        if wanted is None or sid in wanted:
            out[sid] = Minutes(
                [hour_ns + x * MINUTE_NS for x in mins[a:b]],
                counts[a:b].tolist(),
                sums[a:b].tolist(),
                los[a:b].tolist(),
                his[a:b].tolist(),
            )
        a = b
    return out
