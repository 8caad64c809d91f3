"""Whether a stored chunk is sound: it decodes, and its count and bounds agree with its points.

This is the chunk encoding's checksum: `weir doctor` and `weir repair` check every chunk with
`chunk_problem`, and a read that meets a chunk which does not decode answers a clear 503
naming the file (never a 500). It follows the encoding: change both together.
"""

from __future__ import annotations

from array import array

from .schema import HOUR_NS


class ChunkError(ValueError):
    """A chunk row does not decode, or its parts disagree."""


def decode_chunk(ts_blob: bytes, vals_blob: bytes) -> tuple[list[int], list[float]]:
    ta, va = array("q"), array("d")
    try:
        ta.frombytes(ts_blob)
        va.frombytes(vals_blob)
    except (ValueError, TypeError) as exc:
        raise ChunkError(f"a chunk does not decode ({exc})") from None
    if len(ta) != len(va) or not ta:
        raise ChunkError(f"a chunk holds {len(ta)} timestamps and {len(va)} values")
    return ta.tolist(), va.tolist()


def chunk_problem(n: int, t_min: int, t_max: int, ts_blob: bytes, vals_blob: bytes) -> str | None:
    """What is wrong with one stored chunk, or None: it decodes, and its count and time
    bounds agree with its points (sorted, one per timestamp, within one hour).

    `weir doctor` and `weir repair` check every chunk with this; it is the chunk encoding's
    own checksum, and changes with the encoding.
    """
    try:
        ts, vals = decode_chunk(ts_blob, vals_blob)
    except ChunkError as exc:
        return str(exc)
    if len(ts) != n:
        return f"its count says {n} points but it holds {len(ts)}"
    if ts[0] != t_min or ts[-1] != t_max:
        return f"its time bounds [{t_min}, {t_max}] disagree with its points [{ts[0]}, {ts[-1]}]"
    if any(a >= b for a, b in zip(ts, ts[1:])):
        return "its timestamps are not sorted"
    if t_min // HOUR_NS != t_max // HOUR_NS:
        return "it crosses an hour"
    return None


# The chunks, among the newest `?` (and the first `?` found), whose stored sizes disagree
# with their counts (8 bytes a timestamp, 8 a value): what the start-up check runs. It reads
# only the rows' records, never the blobs themselves (SQLite's length() of a blob reads its
# size from the record header): about 0.3 s per 200,000 chunks, where decoding every chunk
# of a large store would take minutes (`weir doctor` does that).
SIZE_MISMATCH_SQL = (
    "SELECT id FROM (SELECT id, n, ts, vals FROM chunks ORDER BY id DESC LIMIT ?) "
    "WHERE length(ts) != 8 * n OR length(vals) != 8 * n OR n < 1 LIMIT ?"
)
