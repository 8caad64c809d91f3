"""Whether a stored chunk is sound: it decodes, and its count and bounds agree with its points.

This is the chunk encoding's checksum (`chunks.decode_row`, compressed columns or the raw
arrays of older folders): `weir doctor` and `weir repair` check every chunk with
`chunk_problem`, the start-up check the newest ones, and a read that meets a chunk which
does not decode answers a clear 503 naming the file (never a 500). It follows the
encoding: change both together.
"""

from __future__ import annotations

import struct
import zlib

from weir.metrics.encoding.columns import CodecError

from .chunks import decode_row
from .schema import HOUR_NS
from .sqltext import fill


class ChunkError(ValueError):
    """A chunk row does not decode, or its parts disagree."""


# What decoding a damaged chunk raises (the codec's own error, and what a cut-short header
# or payload makes struct and zlib raise before the codec can say more).
DECODE_ERRORS = (ChunkError, CodecError, struct.error, zlib.error)


def chunk_problem(n: int, t_min: int, t_max: int, fmt: int, ts_blob: bytes, vals_blob: bytes) -> str | None:
    """What is wrong with one stored chunk, or None: it decodes, and its count and time
    bounds agree with its points (sorted, one per timestamp, within one hour)."""
    try:
        ts, vals = decode_row(fmt, ts_blob, vals_blob)
    except (*DECODE_ERRORS, ValueError, TypeError) as exc:  # ValueError: raw arrays of a wrong length
        return f"it does not decode ({exc})"
    if len(ts) != len(vals) or not ts:
        return f"it holds {len(ts)} timestamps and {len(vals)} values"
    if len(ts) != n:
        return f"its count says {n} points but it holds {len(ts)}"
    if ts[0] != t_min or ts[-1] != t_max:
        return f"its time bounds [{t_min}, {t_max}] disagree with its points [{ts[0]}, {ts[-1]}]"
    if any(a >= b for a, b in zip(ts, ts[1:])):
        return "its timestamps are not sorted"
    if t_min // HOUR_NS != t_max // HOUR_NS:
        return "it crosses an hour"
    return None


def size_mismatch_sql(fmt: str) -> str:
    """The chunks, among the newest `?` (and the first `?` found), whose stored sizes cannot be
    right: raw arrays (fmt 1) are 8 bytes a point; a compressed column (fmt 2) is at least
    its 5-byte header. It reads only the rows' records, never the blobs (SQLite's length()
    of a blob reads its size from the record header): about 0.3 s per 200,000 chunks.
    `fmt` is the column, or `1` for a folder older than the column."""
    return fill(
        "SELECT id FROM (SELECT id, n, {fmt} AS fmt, ts, vals FROM chunks ORDER BY id DESC LIMIT ?) "
        "WHERE n < 1 OR fmt NOT IN (1, 2) OR (fmt = 1 AND (length(ts) != 8 * n OR length(vals) != 8 * n)) "
        "OR (fmt = 2 AND (length(ts) < 5 OR length(vals) < 5)) LIMIT ?", fmt=fmt)
