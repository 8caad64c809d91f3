"""Rollup records, built from sorted points and read back in bulk. Building needs no numpy.

A record summarises one series over one minute or hour: count, sum (`math.fsum`), min,
max, and the last point (time and value), which is what `count,sum,avg,min,max,last`
need and what merges exactly into longer periods (`weir.metrics.query.fold`). Percentiles
need a sketch beside it (`weir.metrics.sketch`).

- Hourly records are fixed-size (HOUR_RECORD, 56 bytes), so a query reads the records
  of a thousand series and a month as one buffer with one numpy call.
- Minute records are stored as seven compressed columns (MinuteColumns): an hour of a
  10-second gauge fits in about the space of its points.
"""

from __future__ import annotations

import struct
import zlib
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from weir.metrics.aggregate import total
from weir.metrics.encoding.columns import CodecError, decode_ts, decode_vals, encode_ts, encode_vals
from weir.metrics.timeutil import NS

if TYPE_CHECKING:
    import numpy as np

MINUTE_NS = 60 * NS
HOUR_NS = 3600 * NS
HOUR_RECORD = struct.Struct("<qqdddqd")  # start, count, sum, min, max, last time, last value
RECORD_FIELDS = ("t", "count", "sum", "min", "max", "last_ts", "last")
# beside an hourly record: the hour's first point, and whether its points fall in distinct
# milliseconds (`WHOLE_MS`): what PromQL's closed windows need besides (`weir.promql.hourly`)
FIRST_RECORD = struct.Struct("<qqdq")  # start, first time, first value, flags
FIRST_FIELDS = ("t", "first_ts", "first", "flags")
WHOLE_MS = 1
_LEN = struct.Struct("<I")
_I64 = struct.Struct("<q")


def hour_record(hour: int, ts: list[int], vals: list[float]) -> bytes:
    """The record of one series' sorted, unique points within one hour (at least one)."""
    return HOUR_RECORD.pack(hour, len(vals), total(vals), min(vals), max(vals), ts[-1], vals[-1])


def first_record(hour: int, ts: list[int], vals: list[float]) -> bytes:
    """The FIRST_RECORD of one series' sorted, unique points within one hour (at least one)."""
    ms = [t // 1_000_000 for t in ts]
    whole = all(a < b for a, b in zip(ms, ms[1:]))
    return FIRST_RECORD.pack(hour, ts[0], vals[0], WHOLE_MS if whole else 0)


def merge_day(existing: bytes | None, records: dict[int, bytes], size: int = HOUR_RECORD.size) -> bytes:
    """A day row's records (of `size` bytes, each starting with its hour as int64) with
    `records` (hour start → record) put in, sorted by hour."""
    out: dict[int, bytes] = {}
    if existing:
        for o in range(0, len(existing), size):
            rec = existing[o : o + size]
            out[_I64.unpack_from(rec)[0]] = rec
    out.update(records)
    return b"".join(out[h] for h in sorted(out))


def hour_dtype():
    import numpy as np

    return np.dtype([(f, "<i8" if f in ("t", "count", "last_ts") else "<f8") for f in RECORD_FIELDS])


def first_dtype():
    import numpy as np

    return np.dtype([(f, "<f8" if f == "first" else "<i8") for f in FIRST_FIELDS])


@dataclass(slots=True)
class MinuteColumns:
    """Minute records of one series within one hour, as parallel lists sorted by minute."""

    t: list[int] = field(default_factory=list)
    count: list[int] = field(default_factory=list)
    sum: list[float] = field(default_factory=list)
    min: list[float] = field(default_factory=list)
    max: list[float] = field(default_factory=list)
    last_ts: list[int] = field(default_factory=list)
    last: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, ts: list[int], vals: list[float]) -> MinuteColumns:
        """From sorted, unique points."""
        out = cls()
        i, n = 0, len(ts)
        while i < n:
            minute = ts[i] - ts[i] % MINUTE_NS
            j = bisect_left(ts, minute + MINUTE_NS, i)
            v = vals[i:j]
            out.t.append(minute)
            out.count.append(j - i)
            out.sum.append(total(v))
            out.min.append(min(v))
            out.max.append(max(v))
            out.last_ts.append(ts[j - 1])
            out.last.append(v[-1])
            i = j
        return out

    def encode(self) -> bytes:
        cols = (encode_ts(self.t), encode_vals([float(c) for c in self.count]), encode_vals(self.sum),
                encode_vals(self.min), encode_vals(self.max), encode_ts(self.last_ts), encode_vals(self.last))
        return b"".join(_LEN.pack(len(c)) + c for c in cols)

    @classmethod
    def decode(cls, blob: bytes) -> MinuteColumns:
        t, count, sums, lo, hi, last_ts, last = split_columns(blob)
        return cls(decode_ts(t), [int(c) for c in decode_vals(count)], decode_vals(sums), decode_vals(lo),
                   decode_vals(hi), decode_ts(last_ts), decode_vals(last))


def split_columns(blob: bytes) -> list[bytes]:
    """The seven encoded columns of a minute row."""
    out, o = [], 0
    for _ in range(7):
        if o + _LEN.size > len(blob):
            raise CodecError("damaged minute rollup row")
        (n,) = _LEN.unpack_from(blob, o)
        out.append(blob[o + _LEN.size : o + _LEN.size + n])
        o += _LEN.size + n
    return out


def decode_minute_rows(blobs: list[bytes]) -> dict[str, np.ndarray]:
    """Every record of many minute rows, concatenated (numpy), plus `lens` per row."""
    from weir.metrics.encoding.bulk import decode_ts_many, decode_vals_many

    cols = list(zip(*(split_columns(b) for b in blobs)))
    lens, t = decode_ts_many(cols[0])
    out = {"lens": lens, "t": t}
    for name, k in (("count", 1), ("sum", 2), ("min", 3), ("max", 4), ("last", 6)):
        out[name] = decode_vals_many(cols[k])[1]
    out["count"] = out["count"].astype("int64")
    out["last_ts"] = decode_ts_many(cols[5])[1]
    return out


def sketch_row(existing: bytes | None, sketches: dict[int, bytes]) -> bytes:
    """A day's sketches (hour start → encoded sketch) with these put in, sorted by hour,
    zlib-compressed: only percentile queries past the raw retention read them."""
    out = dict(read_sketch_row(existing)) if existing else {}
    out.update(sketches)
    return zlib.compress(b"".join(struct.pack("<qI", h, len(out[h])) + out[h] for h in sorted(out)), 6)


def read_sketch_row(blob: bytes) -> list[tuple[int, bytes]]:
    try:
        blob = zlib.decompress(blob)
    except zlib.error as exc:
        raise CodecError(f"damaged sketch row: {exc}") from None
    out, o = [], 0
    while o < len(blob):
        hour, n = struct.unpack_from("<qI", blob, o)
        o += 12
        out.append((hour, blob[o : o + n]))
        o += n
    return out
