"""One column of a chunk (timestamps or values), encoded to bytes and back. No numpy.

Timestamps (int64 ns, sorted, unique):
- regular (every delta the same, the common case): first, step and count, 17 bytes;
- otherwise delta-of-delta over the deltas' greatest common divisor (a 10 s series with
  millisecond jitter stores jitter in ms, not ns), as fixed-width signed integers.

Values (float64), the first of these that holds every value bit for bit:
- constant: one value;
- decimal: every value is an integer divided by 10**k (k = 0..12; |integer| <= 2**53, or any
  whole number below 2**62), which
  is what a number parsed from text with at most k decimals is; the integers are stored as
  first or second differences (counters grow steadily: second differences are small);
- xor: each value's IEEE bits XOR the previous one's (Gorilla's idea, byte-aligned).
Decoding a decimal divides by 10**k, which is correctly rounded both here and in numpy, so
the float read back is the float written (checked at encoding time, value by value).
-0.0, infinities, subnormals and NaN payloads fall through to xor, which is lossless.

Integer payloads hold one entry per point, the first always 0 (the first value is in the
header), so `bulk` can decode many columns as one array. Two layouts:
- bit-packed (`COMP_BITS`, the usual one): a base (the smallest entry, int64), then each
  entry minus the base in `width` bits (0..32), a little-endian bit stream padded with zero
  entries to a multiple of 8, so every 8 entries take exactly `width` bytes. Noisy data
  takes its entropy's bits and no more (a gauge with one decimal: 9-10 bits a point), and
  it decodes without a decompressor: `bulk` unpacks every column of one width at once;
- bytes: little-endian signed integers of the smallest width (1, 2, 4 or 8 bytes),
  byte-shuffled (all first bytes, then all second bytes: the high bytes of small numbers
  are runs of 0x00/0xff) and zlib-compressed when that is smaller. Chosen when the entries
  repeat enough for zlib to beat the bits (mostly zeros: a value that rarely changes), or
  need more than 32 bits.
Measured on gauges with one decimal, counters and constants: bench/codec.py.
"""

from __future__ import annotations

import math
import struct
import zlib
from array import array
from itertools import accumulate, repeat
from operator import mul, sub, truediv, xor

# column kinds: the first byte of an encoded column
T_REGULAR, T_DELTA = 1, 2
V_CONST, V_DECIMAL, V_XOR = 3, 4, 5
COMP_NONE, COMP_ZLIB, COMP_BITS = 0, 1, 2
MAX_BITS = 32  # the widest bit-packed entry the encoder writes (`bulk` reads up to 56)
_GROUP = 128  # entries packed per Python integer: a multiple of 8, so each group is whole bytes
MAX_DECIMALS = 12
# No writer makes longer columns (SQLite chunks: 4,096 points, DynamoDB's: 16,384, minute
# records: 60); a damaged count past this is refused before anything is allocated for it.
MAX_POINTS = 1 << 20
_EXACT = 2**53
_INT64 = 2**62 - 1  # whole numbers up to this: their differences still fit in int64 (2**62 - -2**62 does not)

_TYPECODES = {1: "b", 2: "h", 4: "i", 8: "q"}
# headers: kind u8, n u32, then per kind (see the encoders)
HEAD = struct.Struct("<BI")
T_REGULAR_HEAD = struct.Struct("<BIqq")  # kind, n, first, step
T_DELTA_HEAD = struct.Struct("<BIqqBBB")  # kind, n, first, scale, order, width, comp
V_CONST_HEAD = struct.Struct("<BId")  # kind, n, value
V_DECIMAL_HEAD = struct.Struct("<BIqBBBB")  # kind, n, first integer, decimals, order, width, comp
V_XOR_HEAD = struct.Struct("<BIQBB")  # kind, n, first bits, width, comp
_F64 = struct.Struct("<d")
_I64 = struct.Struct("<q")


class CodecError(ValueError):
    """A column could not be decoded: not written by this codec, or damaged."""


# -- integers -------------------------------------------------------------------------


def _width(entries: list[int]) -> int:
    hi = max(entries)
    lo = min(entries)
    for w in (1, 2, 4):
        bound = 1 << (8 * w - 1)
        if lo >= -bound and hi < bound:
            return w
    return 8


def _differences(ints: list[int]) -> list[int]:
    """n entries: 0, then the first differences."""
    return [0, *map(sub, ints[1:], ints)]


def _pack_entries(entries: list[int]) -> tuple[int, int, bytes]:
    """(width, compression, payload) for n signed entries: bit-packed, unless mostly zeros
    or wider than MAX_BITS (then zlib is tried too, and the smallest kept)."""
    n = len(entries)
    base = min(entries)
    bits = (max(entries) - base).bit_length()
    packed = _pack_bits(entries, base, bits) if bits <= MAX_BITS else None
    if packed is not None and entries.count(0) * 4 < n:
        return bits, COMP_BITS, packed
    width = _width(entries)
    raw = array(_TYPECODES[width], entries).tobytes()
    if width > 1:
        raw = b"".join(raw[b::width] for b in range(width))
    best = (width, COMP_NONE, raw)
    zipped = zlib.compress(raw, 6)
    if len(zipped) < len(raw):
        best = (width, COMP_ZLIB, zipped)
    if packed is not None and len(packed) <= len(best[2]):
        return bits, COMP_BITS, packed
    return best


def _pack_bits(entries: list[int], base: int, bits: int) -> bytes:
    """The COMP_BITS payload: base, then (entry - base) in `bits` bits each, groups of 8."""
    head = _I64.pack(base)
    if bits == 0:
        return head
    offs = list(map(sub, entries, repeat(base))) if base else list(entries)
    offs += [0] * (-len(offs) % 8)
    parts = [head]
    for g in range(0, len(offs), _GROUP):
        group = offs[g : g + _GROUP]
        acc = 0
        for v in reversed(group):  # Horner: the first entry ends in the lowest bits
            acc = (acc << bits) | v
        parts.append(acc.to_bytes(len(group) * bits // 8, "little"))
    return b"".join(parts)


def bits_payload_size(n: int, bits: int) -> int:
    return _I64.size + (n + 7) // 8 * bits


def _unpack_bits(data: bytes, n: int, bits: int) -> list[int]:
    if bits > 56 or len(data) != bits_payload_size(n, bits):
        raise CodecError(f"bit-packed payload of {len(data)} bytes for {n} entries of {bits} bits")
    base = _I64.unpack_from(data)[0]
    if bits == 0:
        return [base] * n
    mask = (1 << bits) - 1
    out: list[int] = []
    total = (n + 7) // 8 * 8
    for g in range(0, total, _GROUP):
        count = min(_GROUP, total - g)
        at = _I64.size + g * bits // 8
        acc = int.from_bytes(data[at : at + count * bits // 8], "little")
        if base:
            out += [((acc >> s) & mask) + base for s in range(0, count * bits, bits)]
        else:
            out += [(acc >> s) & mask for s in range(0, count * bits, bits)]
    del out[n:]
    return out


def _entries(blob: bytes | memoryview, offset: int, comp: int, n: int, width: int):
    """A payload's n entries, whichever its layout."""
    if comp == COMP_BITS:
        return _unpack_bits(bytes(blob[offset:]), n, width)
    _check_width(width)
    return _unpack_entries(payload_bytes(blob, offset, comp, n, width), n, width)


def _best_differences(ints: list[int]) -> tuple[int, list[int]]:
    """First or second differences, whichever needs the narrower width (first on a tie).

    Both have one entry per point, the first 0; the second differences start from a delta
    of 0, so integrating twice gives back the offsets from the first value.
    """
    first = _differences(ints)
    if len(ints) < 3:
        return 1, first
    w = _width(first)
    if w == 1:
        return 1, first
    second = [0, first[1], *map(sub, first[2:], first[1:])]
    return (2, second) if _width(second) < w else (1, first)


def payload_bytes(blob: bytes | memoryview, offset: int, comp: int, n: int, width: int) -> bytes:
    """The raw (shuffled) entry bytes of an integer payload."""
    data = bytes(blob[offset:])
    if comp == COMP_ZLIB:
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise CodecError(f"damaged column payload: {exc}") from None
    elif comp != COMP_NONE:
        raise CodecError(f"unknown compression {comp}")
    if len(data) != n * width:
        raise CodecError(f"column payload holds {len(data)} bytes, expected {n * width}")
    return data


def _unpack_entries(data: bytes, n: int, width: int) -> array:
    if width > 1:
        out = bytearray(n * width)
        for b in range(width):
            out[b::width] = data[b * n : (b + 1) * n]
        data = bytes(out)
    entries = array(_TYPECODES[width])
    entries.frombytes(data)
    return entries


def _integrate(entries, order: int) -> list[int]:
    out = list(accumulate(entries))
    if order == 2:
        out = list(accumulate(out))
    return out


# -- timestamps -----------------------------------------------------------------------


def encode_ts(ts: list[int]) -> bytes:
    """Sorted int64 nanosecond timestamps (at least one, at most MAX_POINTS)."""
    n = _length(ts)
    first = ts[0]
    deltas = list(map(sub, ts[1:], ts))
    if not deltas or deltas.count(deltas[0]) == len(deltas):
        return T_REGULAR_HEAD.pack(T_REGULAR, n, first, deltas[0] if deltas else 0)
    scale = math.gcd(*deltas) or 1
    scaled = [(t - first) // scale for t in ts] if scale > 1 else ts
    order, entries = _best_differences(scaled)
    width, comp, payload = _pack_entries(entries)
    return T_DELTA_HEAD.pack(T_DELTA, n, first, scale, order, width, comp) + payload


def decode_ts(blob: bytes | memoryview) -> list[int]:
    kind, n = _head(blob)
    if kind == T_REGULAR:
        _, _, first, step = T_REGULAR_HEAD.unpack_from(blob)
        return list(range(first, first + n * step, step)) if step else [first] * n
    if kind != T_DELTA:
        raise CodecError(f"not a timestamp column (kind {kind})")
    _, _, first, scale, order, width, comp = T_DELTA_HEAD.unpack_from(blob)
    entries = _entries(blob, T_DELTA_HEAD.size, comp, n, width)
    offsets = _integrate(entries, order)
    if scale == 1:
        return [first + o for o in offsets]
    return [first + o * scale for o in offsets]


# -- values ---------------------------------------------------------------------------


def _decimal(vals: list[float]) -> tuple[int, list[int]] | None:
    """(k, integers) such that integer / 10**k is every value exactly, or None."""
    if not all(map(math.isfinite, vals)):
        return None
    if 0.0 in vals and any(v == 0.0 and math.copysign(1.0, v) < 0 for v in vals):
        return None  # -0.0 would come back as 0.0
    biggest = max(map(abs, vals))
    probe = vals[:8]
    for k in range(MAX_DECIMALS + 1):
        p = 10**k
        # whole numbers are exact in int64 at any size; a fraction only below 2**53
        if biggest * p > (_INT64 if k == 0 else _EXACT):
            return None
        if list(map(truediv, map(round, map(mul, probe, repeat(float(p)))), repeat(p))) != probe:
            continue
        ints = list(map(round, map(mul, vals, repeat(float(p))))) if k else list(map(int, vals))
        # list equality compares with ==, which is exact here: no NaN, and no -0.0
        if list(map(truediv, ints, repeat(p))) == vals:
            return k, ints
    return None


def encode_vals(vals: list[float]) -> bytes:
    """Float64 values (at least one, at most MAX_POINTS), any bit pattern."""
    n = _length(vals)
    raw = array("d", vals).tobytes()
    bits = array("Q")
    bits.frombytes(raw)
    if bits.count(bits[0]) == n:
        return V_CONST_HEAD.pack(V_CONST, n, vals[0])
    dec = _decimal(vals)
    if dec is not None:
        k, ints = dec
        order, entries = _best_differences(ints)
        width, comp, payload = _pack_entries(entries)
        return V_DECIMAL_HEAD.pack(V_DECIMAL, n, ints[0], k, order, width, comp) + payload
    xored = array("Q", [0, *map(xor, bits, bits[1:])]).tobytes()
    shuffled = b"".join(xored[b::8] for b in range(8))
    packed = zlib.compress(shuffled, 6)
    comp = COMP_ZLIB if len(packed) < len(shuffled) else COMP_NONE
    return V_XOR_HEAD.pack(V_XOR, n, bits[0], 8, comp) + (packed if comp else shuffled)


def decode_vals(blob: bytes | memoryview) -> list[float]:
    kind, n = _head(blob)
    if kind == V_CONST:
        return [V_CONST_HEAD.unpack_from(blob)[2]] * n
    if kind == V_DECIMAL:
        _, _, first, k, order, width, comp = V_DECIMAL_HEAD.unpack_from(blob)
        entries = _entries(blob, V_DECIMAL_HEAD.size, comp, n, width)
        p = 10**k
        return [(first + o) / p for o in _integrate(entries, order)]
    if kind == V_XOR:
        _, _, first, width, comp = V_XOR_HEAD.unpack_from(blob)
        if width != 8:
            raise CodecError(f"xor column of width {width}")
        entries = _unpack_entries(payload_bytes(blob, V_XOR_HEAD.size, comp, n, 8), n, 8)
        signed = first - (1 << 64) if first >= 1 << 63 else first
        bits = array("q", accumulate(entries, xor, initial=signed))
        del bits[0]  # accumulate repeats `initial` first; entry 0 is 0, so bits[0] == first
        out = array("d")
        out.frombytes(bits.tobytes())
        return out.tolist()
    raise CodecError(f"not a value column (kind {kind})")


def _length(column: list) -> int:
    if len(column) > MAX_POINTS:  # a caller's bug: the column could never be read back
        raise ValueError(f"a column holds at most {MAX_POINTS} points, not {len(column)}")
    return len(column)


def _head(blob: bytes | memoryview) -> tuple[int, int]:
    if len(blob) < HEAD.size:
        raise CodecError("column too short")
    kind, n = HEAD.unpack_from(blob)
    if n > MAX_POINTS:
        raise CodecError(f"a column of {n} points: more than any chunk holds ({MAX_POINTS})")
    return kind, n


def _check_width(width: int) -> None:
    if width not in _TYPECODES:
        raise CodecError(f"unknown integer width {width}")
