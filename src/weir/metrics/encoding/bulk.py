"""Decoding many encoded columns at once into numpy arrays (the query path only).

A query over 1,000 series and a day reads 24,000 chunks. Decoding them one by one would
cost a dozen numpy calls per chunk, and even one Python step per header field costs more
than the decompression: here the columns are joined into one buffer and every header field
of every column is read at once, as an array (an unaligned view of the buffer, gathered at
each column's offset). What is left in Python per column is one slice, and one
`zlib.decompress` where the payload is compressed. Everything else (un-shuffling bytes,
integrating differences, scaling decimals, XOR-ing floats, putting each column in its
place) runs once over the concatenation of all columns of one kind, with per-column
corrections (segmented cumulative sums).

Integer arithmetic here wraps at 64 bits (numpy does not check), and that is exact: the
columns were encoded from int64 values, so every wrapped intermediate is undone by the
subtraction of the running total before it.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence

import numpy as np

from .columns import (
    COMP_BITS,
    COMP_NONE,
    COMP_ZLIB,
    HEAD,
    MAX_POINTS,
    T_DELTA,
    T_DELTA_HEAD,
    T_REGULAR,
    T_REGULAR_HEAD,
    V_CONST,
    V_CONST_HEAD,
    V_DECIMAL,
    V_DECIMAL_HEAD,
    V_XOR,
    V_XOR_HEAD,
    CodecError,
)

_I64 = np.int64
_PAD = 16  # bytes after the last column, so an unaligned 8-byte read at its end stays inside


def _starts(lens: np.ndarray) -> np.ndarray:
    return np.cumsum(lens) - lens


def _integrate(x: np.ndarray, lens: np.ndarray, firsts: np.ndarray, sums: np.ndarray | None = None) -> np.ndarray:
    """Per segment: its first value, then running sums of the segment's other entries.

    One cumulative sum over everything: each segment's first entry is set to its first value
    minus the previous segment's last, so the running total restarts exactly there. `x` is
    modified in place. `sums`: each segment's sum without its first entry, when known
    (regular timestamps), else summed here.
    """
    starts = _starts(lens)
    x[starts] = 0
    last = firsts + (np.add.reduceat(x, starts) if sums is None else sums)
    prev = np.zeros_like(last)
    prev[1:] = last[:-1]
    x[starts] = firsts - prev
    return np.cumsum(x, out=x)


def _unshuffle(parts: list, lens: list[int], width: int) -> np.ndarray:
    """Payloads stored as byte planes (a column's low bytes, then its higher ones) back to
    little-endian unsigned integers of `width` bytes, end to end. A run of consecutive
    columns of one length (full chunks: most of them) is combined at once, plane by plane
    (`low | high << 8 ...`, a few vectorised passes), not transposed byte by byte or column
    by column (a few numpy calls per column cost as much as its decompression)."""
    if width == 1:
        return np.frombuffer(b"".join(parts), dtype=np.uint8)
    udt = np.dtype(f"<u{width}")
    out = np.empty(sum(lens), dtype=udt)
    o = c = 0
    while c < len(lens):
        n = lens[c]
        e = c + 1
        while e < len(lens) and lens[e] == n:
            e += 1
        k = e - c
        planes = np.frombuffer(parts[c] if k == 1 else b"".join(parts[c:e]), dtype=np.uint8).reshape(k, width, n)
        dst = out[o : o + k * n].reshape(k, n)
        np.copyto(dst, planes[:, 0, :])
        for plane in range(1, width):
            dst |= planes[:, plane, :].astype(udt) << (8 * plane)
        o += k * n
        c = e
    return out


class _Columns:
    """Encoded columns joined end to end, with their headers readable as arrays."""

    def __init__(self, blobs: Sequence) -> None:
        self.sizes = np.fromiter(map(len, blobs), dtype=_I64, count=len(blobs))
        self.buf = b"".join(blobs) + bytes(_PAD)
        self.offs = _starts(self.sizes)
        if (self.sizes < HEAD.size).any():
            raise CodecError("column too short")
        self.kind = self.field(None, 0, "u1")
        self.lens = self.field(None, 1, "<u4").astype(_I64)
        if len(self.lens) and int(self.lens.max()) > MAX_POINTS:  # damaged: refused before any allocation
            raise CodecError(f"a column of {int(self.lens.max())} points: more than any chunk holds ({MAX_POINTS})")

    def field(self, rows: np.ndarray | None, at: int, dtype: str) -> np.ndarray:
        """The field at byte `at` of each column in `rows` (all: None), whatever its alignment."""
        dt = np.dtype(dtype)
        view = np.ndarray(shape=(len(self.buf) - dt.itemsize + 1,), dtype=dt, buffer=self.buf, strides=(1,))
        return view[(self.offs if rows is None else self.offs[rows]) + at]

    def rows(self, kind: int, head_size: int) -> np.ndarray:
        rows = np.flatnonzero(self.kind == kind)
        if len(rows) and (self.sizes[rows] < head_size).any():
            raise CodecError("column too short")
        return rows

    def payloads(self, rows: np.ndarray, head_size: int, width: np.ndarray, comp: np.ndarray) -> list:
        """Each column's payload bytes (decompressed), checked to hold `n * width` bytes."""
        bad = (comp != COMP_NONE) & (comp != COMP_ZLIB)
        if bad.any():
            raise CodecError(f"unknown compression {int(comp[bad][0])}")
        mv = memoryview(self.buf)
        starts = (self.offs[rows] + head_size).tolist()
        ends = (self.offs[rows] + self.sizes[rows]).tolist()
        try:
            parts = [zlib.decompress(mv[a:b]) if c else mv[a:b] for a, b, c in zip(starts, ends, comp.tolist())]
        except zlib.error as exc:
            raise CodecError(f"damaged column payload: {exc}") from None
        got = np.fromiter(map(len, parts), dtype=_I64, count=len(parts))
        want = self.lens[rows] * width
        if not np.array_equal(got, want):
            i = int(np.flatnonzero(got != want)[0])
            raise CodecError(f"column payload holds {got[i]} bytes, expected {want[i]}")
        return parts


def _groups(*keys: np.ndarray):
    """(key values, positions) for each distinct combination of the keys (each a byte),
    positions ascending. One 1-D `unique` over a combined key: a 2-D one sorts rows."""
    if len(keys[0]) == 0:
        return
    combined = np.zeros(len(keys[0]), dtype=_I64)
    for key in keys:
        combined = (combined << 8) | key
    uniq, inverse = np.unique(combined, return_inverse=True)
    for g, value in enumerate(uniq.tolist()):
        yield [(value >> (8 * (len(keys) - 1 - i))) & 0xFF for i in range(len(keys))], np.flatnonzero(inverse == g)


def _entries(cols: _Columns, rows: np.ndarray, head_size: int, bits: bool, width: int, comp: np.ndarray,
             widths: np.ndarray, scales: np.ndarray | None = None) -> np.ndarray:
    """The integer entries (int64, end to end) of these columns, all of one layout: bit
    packed (of any widths, `widths`), or bytes of one `width`."""
    lens = cols.lens[rows]
    if bits:
        entries = _bit_entries(cols, rows, head_size, widths)
    else:
        if width not in (1, 2, 4, 8):
            raise CodecError(f"unknown integer width {width}")
        parts = cols.payloads(rows, head_size, np.full(len(rows), width, dtype=_I64), comp)
        entries = _unshuffle(parts, lens.tolist(), width).view(f"<i{width}").astype(_I64)
    if scales is not None and (scales != 1).any():
        entries *= np.repeat(scales, lens)
    return entries


def _bit_entries(cols: _Columns, rows: np.ndarray, head_size: int, widths: np.ndarray) -> np.ndarray:
    """Bit-packed payloads (`columns.COMP_BITS`), whatever their widths, in column order.

    Every 8 entries of a column take exactly its width in bytes, so the payloads of one
    width stack as one (groups x width) byte table, and entry j of every group is read at
    once (`_unpack`), into the output's rows of 8 entries. Columns of the usual width are
    unpacked in place, those of another width (a series' hours often differ by a bit)
    after, into their rows: no step per column, and no copy of the whole to reorder it."""
    n = cols.lens[rows]
    w = widths.astype(_I64)
    if (w > 56).any():
        raise CodecError(f"bit-packed column of {int(w.max())} bits")
    groups = (n + 7) // 8
    size = cols.sizes[rows] - head_size
    want = 8 + groups * w
    if not np.array_equal(size, want):
        i = int(np.flatnonzero(size != want)[0])
        raise CodecError(f"bit-packed payload of {size[i]} bytes, expected {want[i]}")
    base = np.repeat(cols.field(rows, head_size, "<i8"), groups)  # each group's column's base
    mv = memoryview(cols.buf)
    starts = (cols.offs[rows] + head_size + 8).tolist()
    ends = (cols.offs[rows] + cols.sizes[rows]).tolist()
    widths_of = w.tolist()
    kinds, counts = np.unique(w, return_counts=True)
    usual = int(kinds[np.argmax(counts)])
    # Every group is unpacked at the usual width, straight into its row: the other widths'
    # payloads are stood in for by zeros of that size, and their rows redone after (few).
    payloads = b"".join([mv[x:y] if wd == usual else bytes(g * usual)
                         for x, y, wd, g in zip(starts, ends, widths_of, groups.tolist())])
    out = np.empty((int(groups.sum()), 8), dtype=_I64)
    _unpack(payloads, usual, out, base)
    first = _starts(groups)
    for width in kinds.tolist():
        if width == usual:
            continue
        these = np.flatnonzero(w == width)
        g = groups[these]
        sel = np.repeat(first[these] - _starts(g), g) + np.arange(int(g.sum()))  # their rows of 8
        part = np.empty((len(sel), 8), dtype=_I64)
        _unpack(b"".join([mv[starts[c]:ends[c]] for c in these.tolist()]), width, part, base[sel])
        out[sel] = part
    flat = out.reshape(-1)
    pads = groups * 8 - n
    if pads.any():  # the zero entries after a column's last, up to its multiple of 8
        padded = np.flatnonzero(pads)
        ends8 = np.cumsum(groups * 8)
        k = pads[padded]
        flat = np.delete(flat, np.repeat(ends8[padded] - k, k) + (np.arange(int(k.sum())) - np.repeat(_starts(k), k)))
    return flat


def _unpack(payloads: bytes, width: int, out: np.ndarray, base: np.ndarray) -> None:
    """Groups of 8 entries of `width` bits (`width` bytes each) into the rows of `out`, each
    plus its group's `base`.

    Entry j of every group is one strided, unaligned read of the 1, 2, 4 or 8 bytes that
    hold it (a view of the payloads: no copy), shifted and masked into row j of an (8 x
    groups) table; one transposing pass then adds the bases into `out`."""
    groups = len(base)
    dt = np.dtype(np.uint32 if width <= 25 else np.uint64)  # an entry and its bit offset (< 8) fit
    table = np.zeros((8, groups), dtype=dt)
    if width:
        buf = payloads + bytes(8)  # the last group's widest read stays inside
        mask = dt.type((1 << width) - 1)
        for j in range(8):
            first_bit = width * j
            lo, shift = first_bit >> 3, first_bit & 7
            size = (shift + width + 7) >> 3
            size = 1 if size == 1 else 2 if size == 2 else 4 if size <= 4 else 8
            held = np.ndarray(shape=(groups,), dtype=f"<u{size}", buffer=buf, offset=lo, strides=(width,))
            np.right_shift(held, shift, out=table[j], casting="unsafe")
            table[j] &= mask
    np.add(table.T, base[:, None], out=out, casting="unsafe")


class _Out:
    """The concatenated output of all columns, filled kind by kind: a kind whose columns are
    consecutive (every column, in the common case) is written in place, by the last
    operation that computes it (`target`), with no copy after."""

    def __init__(self, lens: np.ndarray, dtype, into: np.ndarray | None = None) -> None:
        self.lens = lens
        self.dtype = dtype
        self.ends = np.zeros(len(lens) + 1, dtype=_I64)
        np.cumsum(lens, out=self.ends[1:])
        if into is not None and len(into) != self.ends[-1]:
            raise CodecError(f"the columns hold {self.ends[-1]} points, not {len(into)}")
        self.data = np.empty(int(self.ends[-1]), dtype=dtype) if into is None else into
        self.parts: list[tuple[np.ndarray, np.ndarray]] = []

    def target(self, rows: np.ndarray) -> np.ndarray | None:
        """Where these columns' points go, when they are consecutive columns; else None."""
        if len(rows) and int(rows[-1]) - int(rows[0]) == len(rows) - 1:
            return self.data[self.ends[rows[0]] : self.ends[rows[-1] + 1]]
        return None

    def put(self, rows: np.ndarray, values: np.ndarray) -> None:
        """These columns' points, unless they were computed in place (`target`)."""
        place = self.target(rows)
        if place is None:
            self.parts.append((rows, values))
        elif values is not place:
            place[...] = values

    def result(self) -> np.ndarray:
        if not self.parts:
            return self.data
        # columns of a kind that are not consecutive: each run of consecutive columns of one
        # kind is one slice copy (a per-point index to scatter through costs several passes)
        kind_of = np.full(len(self.lens), -1, dtype=_I64)
        src = np.zeros(len(self.lens), dtype=_I64)
        for k, (rows, _) in enumerate(self.parts):
            kind_of[rows] = k
            src[rows] = _starts(self.lens[rows])
        bounds = [0, *(np.flatnonzero(np.diff(kind_of)) + 1).tolist(), len(self.lens)]
        dst_l, src_l, kind_l = self.ends.tolist(), src.tolist(), kind_of.tolist()
        for a, b in zip(bounds, bounds[1:]):
            if kind_l[a] >= 0:
                d, n = dst_l[a], dst_l[b] - dst_l[a]
                self.data[d : d + n] = self.parts[kind_l[a]][1][src_l[a] : src_l[a] + n]
        return self.data


def decode_ts_many(blobs: Sequence, into: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, concatenated int64 timestamps) of timestamp columns (written `into` an
    array of the right length, if given)."""
    cols = _Columns(blobs)
    out = _Out(cols.lens, _I64, into)
    known = (cols.kind == T_REGULAR) | (cols.kind == T_DELTA)
    if not known.all():
        raise CodecError(f"not a timestamp column (kind {int(cols.kind[~known][0])})")
    reg = cols.rows(T_REGULAR, T_REGULAR_HEAD.size)
    if len(reg):
        n = cols.lens[reg]
        steps = cols.field(reg, 13, "<i8")
        x = out.target(reg)  # the running sums are taken in place, in the output
        if x is None:
            x = np.empty(int(n.sum()), dtype=_I64)
        if (steps == steps[0]).all():
            x.fill(steps[0])
        else:
            x[...] = np.repeat(steps, n)
        out.put(reg, _integrate(x, n, cols.field(reg, 5, "<i8"), (n - 1) * steps))
    delta = cols.rows(T_DELTA, T_DELTA_HEAD.size)
    if len(delta):
        order, width, comp = cols.field(delta, 21, "u1"), cols.field(delta, 22, "u1"), cols.field(delta, 23, "u1")
        _check(order)
        bits = comp == COMP_BITS
        for (b, w, o), at in _groups(bits, np.where(bits, 0, width), order):  # bit-packed: any widths at once
            rows = delta[at]
            n = cols.lens[rows]
            entries = _entries(cols, rows, T_DELTA_HEAD.size, b, w, comp[at], width[at], cols.field(rows, 13, "<i8"))
            if o == 2:
                entries = _integrate(entries, n, np.zeros(len(n), dtype=_I64))
            out.put(rows, _integrate(entries, n, cols.field(rows, 5, "<i8")))
    return cols.lens, out.result()


def decode_vals_many(blobs: Sequence, into: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, concatenated float64 values) of value columns (`into`: as for timestamps)."""
    cols = _Columns(blobs)
    out = _Out(cols.lens, np.float64, into)
    known = (cols.kind == V_CONST) | (cols.kind == V_DECIMAL) | (cols.kind == V_XOR)
    if not known.all():
        raise CodecError(f"not a value column (kind {int(cols.kind[~known][0])})")
    const = cols.rows(V_CONST, V_CONST_HEAD.size)
    if len(const):
        out.put(const, np.repeat(cols.field(const, 5, "<f8"), cols.lens[const]))
    dec = cols.rows(V_DECIMAL, V_DECIMAL_HEAD.size)
    if len(dec):
        k, order, width = cols.field(dec, 13, "u1"), cols.field(dec, 14, "u1"), cols.field(dec, 15, "u1")
        _check(order)
        if (k > 22).any():
            raise CodecError(f"bad decimal column ({int(k.max())} decimals)")
        comp = cols.field(dec, 16, "u1")
        bits = comp == COMP_BITS
        for (b, w, o, kk), at in _groups(bits, np.where(bits, 0, width), order, k):  # bit-packed: any widths at once
            rows = dec[at]
            n = cols.lens[rows]
            entries = _entries(cols, rows, V_DECIMAL_HEAD.size, b, w, comp[at], width[at])
            if o == 2:
                entries = _integrate(entries, n, np.zeros(len(n), dtype=_I64))
            ints = _integrate(entries, n, cols.field(rows, 5, "<i8"))
            # 10.0**k is exact for k <= 22, and int64 -> float64 is exact for what the encoder
            # took: the division is correctly rounded, as Python's int / int is.
            place = out.target(rows)
            out.put(rows, np.divide(ints, 10.0**kk, out=place) if place is not None else ints / 10.0**kk)
    xor = cols.rows(V_XOR, V_XOR_HEAD.size)
    if len(xor):
        width = cols.field(xor, 13, "u1")
        if (width != 8).any():
            raise CodecError(f"xor column of width {int(width[width != 8][0])}")
        out.put(xor, _xor_values(cols, xor))
    return cols.lens, out.result()


def _check(order: np.ndarray) -> None:
    bad = ~np.isin(order, (1, 2))
    if bad.any():
        raise CodecError(f"bad integer column (order {int(order[bad][0])})")


def _xor_values(cols: _Columns, rows: np.ndarray) -> np.ndarray:
    lens = cols.lens[rows]
    parts = cols.payloads(rows, V_XOR_HEAD.size, np.full(len(rows), 8, dtype=_I64), cols.field(rows, 14, "u1"))
    entries = _unshuffle(parts, lens.tolist(), 8).view("<u8").copy()
    starts = _starts(lens)
    entries[starts] = cols.field(rows, 5, "<u8")
    acc = np.bitwise_xor.accumulate(entries)
    before = np.zeros(len(lens), dtype=np.uint64)
    before[1:] = acc[starts[1:] - 1]
    bits = acc ^ np.repeat(before, lens)
    return bits.view(np.float64)


def decode_many(ts_blobs: Sequence, val_blobs: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lengths, timestamps, values) of chunks given as parallel column lists.

    Many points are decoded in two halves at once, the second on a helper thread when it is
    free: nearly all the work is numpy passes over large arrays, which release the GIL, so
    a query uses both cores (as VictoriaMetrics does). Each half writes straight into its
    part of the output."""
    if len(ts_blobs) != len(val_blobs):
        raise CodecError("as many timestamp columns as value columns are needed")
    lens = _Columns(ts_blobs).lens
    half = len(lens) // 2
    helper = _helper() if int(lens.sum()) >= PARALLEL_POINTS else None
    if helper is None:
        return _decode_into(ts_blobs, val_blobs, lens, None, None)
    pool, free = helper
    ts, vals = np.empty(int(lens.sum()), dtype=_I64), np.empty(int(lens.sum()))
    cut = int(lens[:half].sum())
    try:
        later = pool.submit(_decode_into, ts_blobs[half:], val_blobs[half:], lens[half:], ts[cut:], vals[cut:])
        _decode_into(ts_blobs[:half], val_blobs[:half], lens[:half], ts[:cut], vals[:cut])
        later.result()
    finally:
        free.release()
    return lens, ts, vals


PARALLEL_POINTS = 1_000_000  # fewer decode in well under 50 ms: a thread hand-off is not worth it
_pool: tuple | None = None
_pool_lock = threading.Lock()


def _helper():
    """(the decoding helper thread's pool, its semaphore, acquired) if the helper is free,
    else None: a query never waits for another query's half."""
    global _pool
    with _pool_lock:
        if _pool is None:
            from concurrent.futures import ThreadPoolExecutor

            _pool = (ThreadPoolExecutor(max_workers=1, thread_name_prefix="weir-decode"), threading.Semaphore(1))
    return _pool if _pool[1].acquire(blocking=False) else None


def _decode_into(ts_blobs, val_blobs, lens, ts_into, vals_into) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    tlens, ts = decode_ts_many(ts_blobs, ts_into)
    vlens, vals = decode_vals_many(val_blobs, vals_into)
    if not (np.array_equal(lens, tlens) and np.array_equal(lens, vlens)):
        raise CodecError("a chunk's timestamp and value columns differ in length")
    return lens, ts, vals
