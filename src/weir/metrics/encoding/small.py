"""Decoding a few chunks: the same arrays as `bulk.decode_many`, with less fixed cost.

Why: `bulk` is built for thousands of chunks (a query over 1,000 series and a day reads
24,000). It reads every header field of every column as an array and groups the columns by
layout with `numpy.unique`: some sixty numpy calls whatever the number of columns. A
one-host question over 12 hours reads 12 chunks of 360 points, and those calls took ~0.5 ms,
more than a quarter of the whole request (issue 15's target: at most 5 ms over HTTP).

Here the headers of a few columns are read with `struct` in Python, and the two layouts
that nearly every chunk has are decoded with a handful of numpy passes over all of them:
regular timestamps (`first + i * step`), and decimal values bit-packed (every entry read at
once, `_unpack_bits`; integrated by `bulk`'s own `_integrate`; divided by the same powers
of ten). Anything else -- another layout, a header or size that does not check out, more
than SMALL chunks -- goes to `bulk.decode_many`, which decodes it or raises its CodecError.
The answers are the same arrays, bit for bit (tests/metrics/encoding/test_small.py decodes
both ways). 12 chunks: ~0.1 ms here, ~0.3 ms in `bulk`.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import numpy as np

from .bulk import _integrate, decode_many
from .columns import COMP_BITS, MAX_BITS, MAX_POINTS, T_REGULAR, T_REGULAR_HEAD, V_DECIMAL, V_DECIMAL_HEAD

SMALL = 64  # at most this many chunks are decoded here
_I64 = np.int64
_POW10 = [10.0**k for k in range(23)]  # the divisors `bulk` uses: exact floats up to 1e22
_BASE = struct.Struct("<q")
_BITS_AT = V_DECIMAL_HEAD.size + _BASE.size  # a bit-packed payload: its base (int64), then the entries


def decode_chunks(ts_blobs: Sequence, val_blobs: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lengths, timestamps, values) of chunks given as parallel column lists, as
    `bulk.decode_many` returns them."""
    if 0 < len(ts_blobs) <= SMALL and len(ts_blobs) == len(val_blobs):
        got = _timestamps(ts_blobs)
        if got is not None:
            lens, ts = got
            vals = _decimals(val_blobs, lens.tolist())
            if vals is not None:
                return lens, ts, vals
    return decode_many(ts_blobs, val_blobs)


def _timestamps(blobs: Sequence) -> tuple[np.ndarray, np.ndarray] | None:
    """Regular timestamp columns; None if any column is not one (or not a sound one)."""
    size = T_REGULAR_HEAD.size
    heads = []
    for blob in blobs:
        if len(blob) < size or blob[0] != T_REGULAR:
            return None
        _, n, first, step = T_REGULAR_HEAD.unpack_from(blob)
        if not 0 < n <= MAX_POINTS:
            return None
        heads.append((n, first, step))
    n, first, step = (np.array(c, dtype=_I64) for c in zip(*heads))
    starts = np.cumsum(n) - n
    # int64 arithmetic wraps as bulk's running sums do: the same values modulo 2**64
    at = np.arange(int(starts[-1] + n[-1]), dtype=_I64) - np.repeat(starts, n)
    return n, np.repeat(first, n) + at * np.repeat(step, n)


def _decimals(blobs: Sequence, lens: list[int]) -> np.ndarray | None:
    """Decimal value columns, bit-packed; None if any column is not one, or its header or
    size does not check out (bulk then says what is wrong)."""
    heads = []
    for blob, want in zip(blobs, lens):
        if len(blob) < _BITS_AT or blob[0] != V_DECIMAL:
            return None
        _, n, first, k, order, width, comp = V_DECIMAL_HEAD.unpack_from(blob)
        if (n != want or comp != COMP_BITS or order not in (1, 2) or k > 22 or width > MAX_BITS
                or len(blob) != _BITS_AT + (n + 7) // 8 * width):
            return None
        heads.append((n, first, k, order, width))
    # the columns of one (width, order), in column order: usually all of them
    kinds: dict[tuple[int, int], list[int]] = {}
    for c, (_, _, _, order, width) in enumerate(heads):
        kinds.setdefault((width, order), []).append(c)
    if len(kinds) == 1:  # every column alike: straight into the output
        ((width, order), cols), = kinds.items()
        return _divided(_integers(blobs, heads, cols, width, order), [h[2] for h in heads], lens)
    out = np.empty(sum(lens))
    ends = np.cumsum(lens).tolist()
    for (width, order), cols in kinds.items():
        part = _divided(_integers(blobs, heads, cols, width, order), [heads[c][2] for c in cols],
                        [lens[c] for c in cols])
        at = 0
        for c in cols:
            n = lens[c]
            out[ends[c] - n : ends[c]] = part[at : at + n]
            at += n
    return out


def _divided(ints: np.ndarray, decimals: list[int], lens: list[int]) -> np.ndarray:
    """Each column's integers over 10**k (its decimals), into a new float64 array."""
    if decimals.count(decimals[0]) == len(decimals):
        return np.divide(ints, _POW10[decimals[0]])
    return np.divide(ints, np.repeat([_POW10[k] for k in decimals], lens))


def _integers(blobs: Sequence, heads: list, cols: list[int], width: int, order: int) -> np.ndarray:
    """The decimal integers of these columns (all of one width and order), end to end."""
    n = np.array([heads[c][0] for c in cols], dtype=_I64)
    groups = (n + 7) // 8
    base = np.array([_BASE.unpack_from(blobs[c], V_DECIMAL_HEAD.size)[0] for c in cols], dtype=_I64)
    entries = _unpack_bits(b"".join(memoryview(blobs[c])[_BITS_AT:] for c in cols), width, int(groups.sum()) * 8)
    entries += np.repeat(base, groups * 8)
    if bool((n % 8).any()):  # the zero entries padding a column to a multiple of 8
        padded = groups * 8
        entries = np.concatenate([entries[a : a + m] for a, m in zip((np.cumsum(padded) - padded).tolist(),
                                                                      n.tolist())])
    if order == 2:
        entries = _integrate(entries, n, np.zeros(len(n), dtype=_I64))
    return _integrate(entries, n, np.array([heads[c][1] for c in cols], dtype=_I64))


def _unpack_bits(payload: bytes, width: int, count: int) -> np.ndarray:
    """`count` entries of `width` bits (at most 32, what the encoder writes: wider ones are
    left to `bulk`), a little-endian bit stream, as int64.

    Entry i starts at bit i * width: the 8 bytes from its first byte hold it whole (its
    shift within that byte is below 8), read at once for every entry through an unaligned
    view of the payload -- a few passes in all, where `bulk._unpack` takes a few per each of
    the 8 entries of a group (cheaper per entry for millions, dearer for a few thousand)."""
    if width in (8, 16, 32):  # whole bytes: the payload is the entries, little-endian
        return np.frombuffer(payload, dtype=f"<u{width // 8}", count=count).astype(_I64)
    buf = payload + bytes(8)  # the last entry's 8-byte read stays inside
    words = np.ndarray(shape=(len(buf) - 7,), dtype="<u8", buffer=buf, strides=(1,))
    bit = np.arange(count, dtype=np.uint64) * np.uint64(width)
    got = words[bit >> np.uint64(3)] >> (bit & np.uint64(7))
    got &= np.uint64((1 << width) - 1)
    return got.view(_I64)
