"""One write-ahead log row: a batch of points packed as three columns, with a checksum.

A row is `MAGIC | crc32 | n | series ids | timestamps | values` (little-endian; n 32-bit,
each column n 64-bit numbers). The CRC32 covers `n` and the columns, so a damaged byte or a
wrong count is found when the row is read, instead of its points being silently dropped
(a wrong `n` once made recovery read short columns and the next flush delete the row).

Rows written before the checksum (`n | columns`, no magic) are still read: their only
check is that the length agrees with `n`. MAGIC read as such an old count would need a
row of tens of gigabytes, more than SQLite stores in one value, so the two never mix up.
"""

from __future__ import annotations

import zlib
from array import array

from weir.metrics.ports import PointBatch

MAGIC = b"\xffWL1"
_HEAD = len(MAGIC) + 8  # magic, crc32, n


class LogRowError(ValueError):
    """The row cannot be trusted: its message says why."""


def pack(batch: PointBatch) -> bytes:
    body = (
        len(batch).to_bytes(4, "little")
        + array("q", batch.series_ids).tobytes()
        + array("q", batch.timestamps).tobytes()
        + array("d", batch.values).tobytes()
    )
    return MAGIC + zlib.crc32(body).to_bytes(4, "little") + body


def unpack(blob: bytes) -> tuple[list[int], list[int], list[float]]:
    """The row's (series ids, timestamps, values); LogRowError when it is damaged."""
    blob = bytes(blob)
    if blob[:4] == MAGIC:
        if len(blob) < _HEAD:
            raise LogRowError(f"{len(blob)} bytes, shorter than a row header")
        body = blob[8:]
        if zlib.crc32(body) != int.from_bytes(blob[4:8], "little"):
            raise LogRowError("its checksum does not match its content")
    else:
        body = blob  # written before rows had a checksum
    if len(body) < 4:
        raise LogRowError(f"{len(blob)} bytes, shorter than a row header")
    n = int.from_bytes(body[:4], "little")
    if len(body) != 4 + 24 * n:
        raise LogRowError(f"its count says {n} points but it holds {len(body) - 4} bytes of points")
    sids, tss, vals = array("q"), array("q"), array("d")
    sids.frombytes(body[4 : 4 + 8 * n])
    tss.frombytes(body[4 + 8 * n : 4 + 16 * n])
    vals.frombytes(body[4 + 16 * n :])
    return sids.tolist(), tss.tolist(), vals.tolist()


def estimated_points(blob: bytes) -> int:
    """About how many points a damaged row held, from its size alone (its count is not trusted)."""
    size = len(blob) - (_HEAD if bytes(blob[:4]) == MAGIC else 4)
    return max(0, size // 24)
