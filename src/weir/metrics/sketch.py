"""A mergeable quantile sketch (DDSketch's log buckets): percentiles from rollups. No numpy.

Why: an hourly rollup cannot keep its points, yet p50/p90/p99 over months must come from
hourly rollups once the points have expired. A sketch counts values in buckets whose
bounds grow by the factor GAMMA = (1 + ALPHA) / (1 - ALPHA); reporting a bucket by the
midpoint 2 * GAMMA**i / (GAMMA + 1) is within ALPHA (1 %) of every value in it. Sketches
merge by adding counts, so an hour's sketch plus the next hour's is the sketch of both,
exactly: the error does not grow with merging, only with the choice of bucket.

Percentiles interpolate between the closest ranks like the raw path (`aggregate.py`): the
estimate of the value at rank q * (n - 1) is within ALPHA * max(|x_lo|, |x_hi|) of the
exact answer, where x_lo and x_hi are the two values it interpolates between (values with
|v| < ZERO count as 0, an absolute error below ZERO). The smallest and largest values are
kept exactly, and estimates are clamped to them.

Bucket indexes: i = ceil(log|v| / log GAMMA); |i| < 36,000 for every finite float64, and
±inf count in bucket INF_BUCKET of their sign, which reports ±inf (a gauge may be infinite:
before it had a bucket, one such value stopped its hour from ever being finalised).
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
ZERO = 1e-9  # |v| below this counts in the zero bucket
# A bucket's estimate and its index are computed with floating-point logs: at a bucket's
# exact boundary the index can be one off, which adds at most a rounding error to ALPHA.
ERROR_BOUND = ALPHA * (1 + 1e-9)

INF_BUCKET = 36_000
_HEAD = struct.Struct("<BIdd")  # version, zero count, min, max
_STORE = struct.Struct("<iIBB")  # first index, buckets, count width, compression
_VERSION = 1
_CODES = {1: "B", 2: "H", 4: "I"}


def bucket(v: float) -> int:
    """The bucket index of |v| (v not in the zero bucket)."""
    return math.ceil(math.log(abs(v)) / _LOG_GAMMA) if abs(v) < math.inf else INF_BUCKET


def bucket_value(i: int) -> float:
    """What a bucket reports: within ALPHA of every value it holds."""
    return 2 * math.exp(i * _LOG_GAMMA) / (GAMMA + 1) if i < INF_BUCKET else math.inf


class Sketch:
    """Counts per bucket of positive values, of negative values, and of (near-)zeros."""

    __slots__ = ("pos", "neg", "zeros", "min", "max")

    def __init__(self) -> None:
        self.pos: dict[int, int] = {}
        self.neg: dict[int, int] = {}
        self.zeros = 0
        self.min = math.inf
        self.max = -math.inf

    @classmethod
    def of(cls, values) -> Sketch:
        s = cls()
        s.add_all(values)
        return s

    @property
    def count(self) -> int:
        return self.zeros + sum(self.pos.values()) + sum(self.neg.values())

    def add_all(self, values) -> None:
        pos, neg, log, ceil, lg, inf = self.pos, self.neg, math.log, math.ceil, _LOG_GAMMA, math.inf
        lo, hi = self.min, self.max
        for v in values:
            if v < lo:
                lo = v
            if v > hi:
                hi = v
            if v > ZERO:
                i = ceil(log(v) / lg) if v < inf else INF_BUCKET
                pos[i] = pos.get(i, 0) + 1
            elif v < -ZERO:
                i = ceil(log(-v) / lg) if v > -inf else INF_BUCKET
                neg[i] = neg.get(i, 0) + 1
            else:
                self.zeros += 1
        self.min, self.max = lo, hi

    def merge(self, other: Sketch) -> None:
        for mine, theirs in ((self.pos, other.pos), (self.neg, other.neg)):
            for i, c in theirs.items():
                mine[i] = mine.get(i, 0) + c
        self.zeros += other.zeros
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)

    def ordered(self) -> list[tuple[float, int]]:
        """(estimate, count) for every non-empty bucket, from the smallest value up."""
        out = [(-bucket_value(i), self.neg[i]) for i in sorted(self.neg, reverse=True)]
        if self.zeros:
            out.append((0.0, self.zeros))
        out += [(bucket_value(i), self.pos[i]) for i in sorted(self.pos)]
        return out

    def quantile(self, q: float) -> float:
        """The estimated percentile q (0..1), interpolated between closest ranks; needs a value."""
        n = self.count
        if n == 0:
            raise ValueError("an empty sketch has no quantiles")
        pos = (n - 1) * q
        lo = int(pos)
        hi = lo + 1 if lo + 1 < n else lo
        a, b = self._at_ranks(lo, hi)
        return a if a == b or pos == lo else a + (b - a) * (pos - lo)  # inf - inf is no step

    def _at_ranks(self, lo: int, hi: int) -> tuple[float, float]:
        got: list[float] = []
        seen = 0
        for value, c in self.ordered():
            seen += c
            while len(got) < 2 and (lo, hi)[len(got)] < seen:
                got.append(min(max(value, self.min), self.max))
            if len(got) == 2:
                break
        return got[0], got[1]

    # -- bytes -----------------------------------------------------------------------

    def encode(self) -> bytes:
        return b"".join((_HEAD.pack(_VERSION, self.zeros, self.min, self.max), _store(self.pos), _store(self.neg)))

    @classmethod
    def decode(cls, blob: bytes | memoryview) -> Sketch:
        version, zeros, lo, hi = _HEAD.unpack_from(blob)
        if version != _VERSION:
            raise ValueError(f"unknown sketch format {version}")
        s = cls()
        s.zeros, s.min, s.max = zeros, lo, hi
        o = _HEAD.size
        s.pos, o = _unstore(blob, o)
        s.neg, o = _unstore(blob, o)
        return s

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sketch) and (self.pos, self.neg, self.zeros, self.min, self.max) == (
            other.pos, other.neg, other.zeros, other.min, other.max)

    def __repr__(self) -> str:
        return f"Sketch(count={self.count}, min={self.min}, max={self.max})"


def _store(buckets: dict[int, int]) -> bytes:
    """Dense counts from the lowest index to the highest, in the narrowest width."""
    if not buckets:
        return _STORE.pack(0, 0, 1, 0)
    first, last = min(buckets), max(buckets)
    counts = [buckets.get(i, 0) for i in range(first, last + 1)]
    top = max(counts)
    width = 1 if top < 1 << 8 else 2 if top < 1 << 16 else 4
    raw = array(_CODES[width], counts).tobytes()
    packed = zlib.compress(raw, 6)
    comp = 1 if len(packed) + 4 < len(raw) else 0
    body = len(packed).to_bytes(4, "little") + packed if comp else raw
    return _STORE.pack(first, len(counts), width, comp) + body


def _unstore(blob, o: int) -> tuple[dict[int, int], int]:
    first, n, width, comp = _STORE.unpack_from(blob, o)
    o += _STORE.size
    if width not in _CODES:
        raise ValueError(f"sketch counts of width {width}")
    if comp:
        size = int.from_bytes(blob[o : o + 4], "little")
        raw = zlib.decompress(bytes(blob[o + 4 : o + 4 + size]))
        o += 4 + size
    else:
        raw = bytes(blob[o : o + n * width])
        o += n * width
    counts = array(_CODES[width])
    counts.frombytes(raw)
    if len(counts) != n:
        raise ValueError("damaged sketch")
    return {first + k: c for k, c in enumerate(counts) if c}, o
