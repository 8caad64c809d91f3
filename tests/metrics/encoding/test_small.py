"""The few-chunks decoder (`small.decode_chunks`) answers exactly what `bulk.decode_many`
answers, bit for bit, for every mix of layouts: the ones it decodes itself (regular
timestamps, bit-packed decimals of any width, order and number of decimals, lengths that
are not multiples of 8) and those it hands to bulk (irregular timestamps, constants, xor,
zlib'd integers, damaged columns: the same error)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.metrics.encoding import columns as C
from weir.metrics.encoding import small
from weir.metrics.encoding.bulk import decode_many
from weir.metrics.encoding.small import SMALL, decode_chunks

T0 = 1_780_000_000 * 10**9


def same(got, want) -> None:
    lens, ts, vals = got
    wl, wt, wv = want
    assert lens.dtype == wl.dtype and ts.dtype == wt.dtype and vals.dtype == wv.dtype
    assert np.array_equal(lens, wl) and np.array_equal(ts, wt)
    assert vals.view(np.int64).tolist() == wv.view(np.int64).tolist()  # bit for bit


def regular(n: int, first: int, step: int) -> list[int]:
    return [first + i * step for i in range(n)]


gauge = st.builds(  # a gauge with k decimals: a wave plus noise of `spread` units
    lambda n, k, level, spread, seed: [
        round(level + ((i * 7919 + seed) % (spread + 1)) / 10**k, k) for i in range(n)],
    st.integers(1, 600), st.integers(0, 4), st.integers(-1000, 1000), st.integers(1, 2**20), st.integers(0, 99))
counter = st.builds(  # a counter growing steadily: second differences
    lambda n, rate, jitter: [float(x) for x in itertools.accumulate(
        rate + (i * 31 % (jitter + 1)) for i in range(n))],
    st.integers(2, 600), st.integers(0, 10**6), st.integers(0, 5000))
irregular = st.lists(st.integers(1, 10**9), min_size=1, max_size=200).map(
    lambda d: list(itertools.accumulate(d, initial=T0)))


@st.composite
def chunk(draw, values=gauge | counter):
    vals = draw(values)
    step = draw(st.sampled_from([10**10, 15 * 10**9, 60 * 10**9, 1]))
    return regular(len(vals), T0 + draw(st.integers(0, 10**12)), step), vals


@settings(max_examples=150, deadline=None)
@given(st.lists(chunk(), min_size=1, max_size=SMALL))
def test_decoded_here_as_bulk_decodes(chunks):
    ts = [C.encode_ts(t) for t, _ in chunks]
    vals = [C.encode_vals(v) for _, v in chunks]
    if all(b[0] == C.V_DECIMAL and b[C.V_DECIMAL_HEAD.size - 1] == C.COMP_BITS for b in vals):
        # the path under test really ran (no fallback): its own parts decode every column
        assert small._decimals(vals, [len(t) for t, _ in chunks]) is not None
    got = decode_chunks(ts, vals)
    same(got, decode_many(ts, vals))
    assert np.array_equal(got[1], np.array([t for c, _ in chunks for t in c], dtype=np.int64))
    assert got[2].tolist() == [v for _, c in chunks for v in c]


other = st.sampled_from([[5.0] * 30, [0.1 * i for i in range(40)], [float("inf"), 1.0, -0.0],
                         [1.5] * 9 + [2.5] * 300])


@settings(max_examples=100, deadline=None)
@given(st.lists(chunk() | chunk(other) | st.tuples(irregular, st.just(None)), min_size=1, max_size=SMALL + 3))
def test_other_layouts_go_to_bulk_and_agree(chunks):
    chunks = [(t, v if v is not None else [float(i) / 4 for i in range(len(t))]) for t, v in chunks]
    ts = [C.encode_ts(t) for t, _ in chunks]
    vals = [C.encode_vals(v) for _, v in chunks]
    same(decode_chunks(ts, vals), decode_many(ts, vals))


def test_the_one_host_question_takes_the_small_path():
    """12 hourly chunks of a 10 s gauge with one decimal: regular and bit-packed, decoded here."""
    rnd = np.random.default_rng(7)
    chunks = [(regular(360, T0 + h * 3600 * 10**9, 10**10),
               [round(float(x), 1) for x in 40 + rnd.normal(0, 2, 360)]) for h in range(12)]
    ts = [C.encode_ts(t) for t, _ in chunks]
    vals = [C.encode_vals(v) for _, v in chunks]
    assert small._timestamps(ts) is not None and small._decimals(vals, [360] * 12) is not None
    same(decode_chunks(ts, vals), decode_many(ts, vals))


@pytest.mark.parametrize("width", [0, 1, 7, 8, 9, 13, 16, 25, 26, 31, 32])
def test_unpack_bits_reads_the_bit_stream(width):
    rnd = np.random.default_rng(width)
    n = 8 * 37
    entries = [int(x) for x in rnd.integers(0, 2**width, n)] if width else [0] * n
    payload = C._pack_bits(entries, 0, width)[8:]  # without its base
    assert small._unpack_bits(payload, width, n).tolist() == entries


def test_damaged_columns_raise_as_bulk_does():
    t = [C.encode_ts(regular(16, T0, 10**10))]
    v = C.encode_vals([round(i / 10, 1) for i in range(16)])
    for bad in (v[:-1], v + b"\0", v[:1] + (99).to_bytes(4, "little") + v[5:], v[:13] + b"\x17" + v[14:]):
        with pytest.raises(C.CodecError) as want:
            decode_many(t, [bad])
        with pytest.raises(C.CodecError) as got:
            decode_chunks(t, [bad])
        assert str(got.value) == str(want.value)
