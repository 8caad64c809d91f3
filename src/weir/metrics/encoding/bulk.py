"""Decoding many encoded columns at once into numpy arrays (the query path only).

A query over 1,000 series and a day reads 24,000 chunks. Decoding them one by one would
cost a dozen numpy calls per chunk; here each column costs one header unpack and one
decompression in Python, and everything else (un-shuffling bytes, integrating
differences, scaling decimals, XOR-ing floats) runs once over the concatenation of all
columns of one kind, with per-column corrections (segmented cumulative sums).

Integer arithmetic here wraps at 64 bits (numpy does not check), and that is exact: the
columns were encoded from int64 values, so every wrapped intermediate is undone by the
subtraction of the running total before it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from .columns import (
    COMP_NONE,
    COMP_ZLIB,
    HEAD,
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


def _starts(lens: np.ndarray) -> np.ndarray:
    return np.cumsum(lens) - lens


def _integrate(x: np.ndarray, lens: np.ndarray, firsts: np.ndarray) -> np.ndarray:
    """Per segment: its first value, then running sums of the segment's other entries.

    One cumulative sum over everything: each segment's first entry is set to its first value
    minus the previous segment's last, so the running total restarts exactly there. `x` is
    modified in place.
    """
    starts = _starts(lens)
    x[starts] = 0
    last = firsts + np.add.reduceat(x, starts)
    prev = np.zeros_like(last)
    prev[1:] = last[:-1]
    x[starts] = firsts - prev
    return np.cumsum(x, out=x)


class _Payloads:
    """Integer payloads of one width and order, to be integrated together."""

    __slots__ = ("index", "lens", "parts", "firsts", "scales")

    def __init__(self) -> None:
        self.index: list[int] = []  # which column each payload belongs to
        self.lens: list[int] = []
        self.parts: list[bytes] = []
        self.firsts: list[int] = []
        self.scales: list[int] = []

    def add(self, i: int, n: int, width: int, comp: int, blob, offset: int, first: int, scale: int = 1) -> None:
        data = blob[offset:]
        if comp == COMP_ZLIB:
            try:
                data = zlib.decompress(data)
            except zlib.error as exc:
                raise CodecError(f"damaged column payload: {exc}") from None
        elif comp != COMP_NONE:
            raise CodecError(f"unknown compression {comp}")
        if len(data) != n * width:
            raise CodecError(f"column payload holds {len(data)} bytes, expected {n * width}")
        if width > 1:  # un-shuffle: planes of low bytes, then higher ones, back to integers
            data = np.frombuffer(data, dtype=np.uint8).reshape(width, n).T.tobytes()
        self.index.append(i)
        self.lens.append(n)
        self.parts.append(data)
        self.firsts.append(first)
        self.scales.append(scale)

    def integrate(self, width: int, order: int, dtype=_I64) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(column indexes, lengths, integrated values, concatenated)."""
        lens = np.array(self.lens, dtype=_I64)
        entries = np.frombuffer(b"".join(self.parts), dtype=f"<i{width}").astype(_I64)
        if any(s != 1 for s in self.scales):
            scales = set(self.scales)
            entries *= scales.pop() if len(scales) == 1 else np.repeat(np.array(self.scales, dtype=_I64), lens)
        firsts = np.array(self.firsts, dtype=dtype).view(_I64)
        if order == 2:
            entries = _integrate(entries, lens, np.zeros(len(lens), dtype=_I64))
        return np.array(self.index, dtype=_I64), lens, _integrate(entries, lens, firsts)


class _Out:
    """The concatenated output of all columns, filled kind by kind."""

    def __init__(self, lens: np.ndarray, dtype) -> None:
        self.lens = lens
        self.data: np.ndarray | None = None
        self.dtype = dtype
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def put(self, index: np.ndarray, lens: np.ndarray, values: np.ndarray) -> None:
        self.parts.append((index, lens, values))

    def result(self) -> np.ndarray:
        if len(self.parts) == 1:  # one kind of column: already in order
            return self.parts[0][2].astype(self.dtype, copy=False)
        # Several kinds: copy each column's slice into place. A Python step per column is
        # cheaper than index arrays as long as the points (tens of millions) are.
        data = np.empty(int(self.lens.sum()), dtype=self.dtype)
        starts = _starts(self.lens).tolist()
        for index, lens, values in self.parts:
            o = 0
            for i, n in zip(index.tolist(), lens.tolist()):
                data[starts[i] : starts[i] + n] = values[o : o + n]
                o += n
        return data


def _lengths(blobs: Sequence) -> np.ndarray:
    out = np.empty(len(blobs), dtype=_I64)
    for i, blob in enumerate(blobs):
        if len(blob) < HEAD.size:
            raise CodecError("column too short")
        out[i] = HEAD.unpack_from(blob)[1]
    return out


def decode_ts_many(blobs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, concatenated int64 timestamps) of timestamp columns."""
    lens = _lengths(blobs)
    out = _Out(lens, _I64)
    reg_i: list[int] = []
    reg_first: list[int] = []
    reg_step: list[int] = []
    delta: dict[tuple[int, int], _Payloads] = {}
    for i, blob in enumerate(blobs):
        kind = blob[0]
        if kind == T_REGULAR:
            _, _, first, step = T_REGULAR_HEAD.unpack_from(blob)
            reg_i.append(i)
            reg_first.append(first)
            reg_step.append(step)
        elif kind == T_DELTA:
            _, n, first, scale, order, width, comp = T_DELTA_HEAD.unpack_from(blob)
            if width not in (1, 2, 4, 8) or order not in (1, 2):
                raise CodecError(f"bad timestamp column (width {width}, order {order})")
            delta.setdefault((width, order), _Payloads()).add(i, n, width, comp, blob, T_DELTA_HEAD.size, first, scale)
        else:
            raise CodecError(f"not a timestamp column (kind {kind})")
    if reg_i:
        index = np.array(reg_i, dtype=_I64)
        n = lens[index]
        steps = set(reg_step)
        if len(steps) == 1:
            x = np.full(int(n.sum()), steps.pop(), dtype=_I64)
        else:
            x = np.repeat(np.array(reg_step, dtype=_I64), n)
        out.put(index, n, _integrate(x, n, np.array(reg_first, dtype=_I64)))
    for (width, order), payloads in delta.items():
        out.put(*payloads.integrate(width, order))
    return lens, out.result()


def decode_vals_many(blobs: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """(lengths, concatenated float64 values) of value columns."""
    lens = _lengths(blobs)
    out = _Out(lens, np.float64)
    const_i: list[int] = []
    const_v: list[float] = []
    dec: dict[tuple[int, int, int], _Payloads] = {}
    xor = _Payloads()
    for i, blob in enumerate(blobs):
        kind = blob[0]
        if kind == V_DECIMAL:
            _, n, first, k, order, width, comp = V_DECIMAL_HEAD.unpack_from(blob)
            if width not in (1, 2, 4, 8) or order not in (1, 2) or k > 22:
                raise CodecError(f"bad decimal column (width {width}, order {order}, {k} decimals)")
            dec.setdefault((width, order, k), _Payloads()).add(i, n, width, comp, blob, V_DECIMAL_HEAD.size, first)
        elif kind == V_CONST:
            const_i.append(i)
            const_v.append(V_CONST_HEAD.unpack_from(blob)[2])
        elif kind == V_XOR:
            _, n, first, width, comp = V_XOR_HEAD.unpack_from(blob)
            if width != 8:
                raise CodecError(f"xor column of width {width}")
            xor.add(i, n, 8, comp, blob, V_XOR_HEAD.size, first)
        else:
            raise CodecError(f"not a value column (kind {kind})")
    if const_i:
        index = np.array(const_i, dtype=_I64)
        out.put(index, lens[index], np.repeat(np.array(const_v, dtype=np.float64), lens[index]))
    for (width, order, k), payloads in dec.items():
        index, n, ints = payloads.integrate(width, order)
        # 10.0**k is exact for k <= 22, and int64 -> float64 is exact for what the encoder
        # took: the division is correctly rounded, as Python's int / int is.
        out.put(index, n, ints.astype(np.float64) / 10.0**k)
    if xor.index:
        out.put(*_xor_values(xor))
    return lens, out.result()


def _xor_values(xor: _Payloads) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lens = np.array(xor.lens, dtype=_I64)
    entries = np.frombuffer(b"".join(xor.parts), dtype="<u8").copy()
    starts = _starts(lens)
    entries[starts] = np.array(xor.firsts, dtype=np.uint64)
    acc = np.bitwise_xor.accumulate(entries)
    before = np.zeros(len(lens), dtype=np.uint64)
    before[1:] = acc[starts[1:] - 1]
    bits = acc ^ np.repeat(before, lens)
    return np.array(xor.index, dtype=_I64), lens, bits.view(np.float64)


def decode_many(ts_blobs: Sequence, val_blobs: Sequence) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lengths, timestamps, values) of chunks given as parallel column lists."""
    lens, ts = decode_ts_many(ts_blobs)
    vlens, vals = decode_vals_many(val_blobs)
    if not np.array_equal(lens, vlens):
        raise CodecError("a chunk's timestamp and value columns differ in length")
    return lens, ts, vals
