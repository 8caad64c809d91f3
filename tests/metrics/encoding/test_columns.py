"""Every float and every timestamp pattern survives a column round trip, bit for bit,
through the pure-Python decoder and through the numpy bulk decoder."""

from __future__ import annotations

import math
import struct
from array import array

import pytest
from hypothesis import given
from hypothesis import strategies as st

from weir.metrics.encoding import columns as C
from weir.metrics.encoding.bulk import decode_many, decode_ts_many, decode_vals_many


def bits(values) -> bytes:
    return array("d", values).tobytes()


def from_bits(u: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", u))[0]


SPECIAL = [0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1e-310, math.inf, -math.inf,
           1.7976931348623157e308, -1.7976931348623157e308, 2.0**53, 2.0**53 + 2, 2.0**62, -(2.0**62),
           2.0**63, 0.1, 0.2, 0.30000000000000004, 1 / 3, 123456.789]
any_float = st.floats(allow_nan=False) | st.sampled_from(SPECIAL)
# the ingest refuses NaN, but the codec keeps any bit pattern it is given
any_bits = st.integers(min_value=0, max_value=2**64 - 1).map(from_bits)
decimals = st.builds(lambda i, k: i / 10**k, st.integers(-(2**53), 2**53), st.integers(0, 12))
counters = st.lists(st.integers(0, 2**40), min_size=1, max_size=300).map(
    lambda xs: [float(x) for x in __import__("itertools").accumulate(xs)])


def roundtrip_vals(values: list[float]) -> None:
    blob = C.encode_vals(values)
    assert bits(C.decode_vals(blob)) == bits(values)
    lens, got = decode_vals_many([blob])
    assert lens.tolist() == [len(values)]
    assert got.tobytes() == bits(values)


@given(st.lists(any_float, min_size=1, max_size=400))
def test_any_float_roundtrips(values):
    roundtrip_vals(values)


@given(st.lists(any_bits, min_size=1, max_size=100))
def test_any_bit_pattern_roundtrips(values):
    roundtrip_vals(values)


@given(st.lists(decimals, min_size=1, max_size=400))
def test_decimals_roundtrip(values):
    roundtrip_vals(values)


@given(counters)
def test_counters_roundtrip(values):
    roundtrip_vals(values)


@pytest.mark.parametrize("values", [
    [2.0**53 + i * 2 for i in range(50)],  # a counter past 2**53
    [float(2**62 - 2**10), -float(2**62 - 2**10)],
    [-0.0] * 5,
    [0.0, -0.0, 0.0],
    [math.inf] * 3 + [1.0],
    [float("nan")],
    [from_bits(0x7FF8000000000001), from_bits(0xFFF0000000000123)],  # NaN payloads
    [12.5] * 1000,
])
def test_special_columns_roundtrip(values):
    roundtrip_vals(values)


def test_kinds_are_picked_as_documented():
    assert C.encode_vals([4.2] * 10)[0] == C.V_CONST
    assert C.encode_vals([0.1, 0.2, 12.5])[0] == C.V_DECIMAL
    assert C.encode_vals([0.0, -0.0])[0] == C.V_XOR  # -0.0 is not a decimal
    assert C.encode_vals([1 / 3, 2 / 3])[0] == C.V_XOR
    assert C.encode_ts([10, 20, 30])[0] == C.T_REGULAR
    assert C.encode_ts([10, 20, 31])[0] == C.T_DELTA


def test_a_noisy_gauge_with_one_decimal_takes_under_two_bytes_a_point():
    import random

    rnd = random.Random(7)
    values = [round(50 + 20 * math.sin(i / 50) + rnd.gauss(0, 3), 1) for i in range(360)]
    ts = [1_700_000_000 * 10**9 + i * 10 * 10**9 for i in range(360)]
    size = len(C.encode_vals(values)) + len(C.encode_ts(ts))
    assert size / 360 < 2


timestamps = st.lists(st.integers(-(2**60), 2**60), min_size=1, max_size=400, unique=True).map(sorted)
regular = st.builds(lambda t0, step, n: [t0 + step * i for i in range(n)],
                    st.integers(0, 2**61), st.integers(1, 10**12), st.integers(1, 500))
jittered = st.builds(lambda t0, jit: [t0 + i * 10**10 + j * 10**6 for i, j in enumerate(jit)],
                     st.integers(0, 2**61), st.lists(st.integers(0, 999), min_size=1, max_size=400))


@given(timestamps | regular | jittered)
def test_any_timestamps_roundtrip(ts):
    blob = C.encode_ts(ts)
    assert C.decode_ts(blob) == ts
    lens, got = decode_ts_many([blob])
    assert got.tolist() == ts


@given(st.lists(st.tuples(timestamps | regular | jittered, st.lists(any_float | decimals, min_size=1, max_size=50)),
                min_size=1, max_size=20))
def test_bulk_decoding_of_mixed_columns_matches_one_by_one(columns):
    chunks = []
    for ts, vals in columns:
        n = min(len(ts), len(vals))
        chunks.append((ts[:n], vals[:n]))
    lens, ts, vals = decode_many([C.encode_ts(t) for t, _ in chunks], [C.encode_vals(v) for _, v in chunks])
    assert lens.tolist() == [len(t) for t, _ in chunks]
    assert ts.tolist() == [x for t, _ in chunks for x in t]
    assert vals.tobytes() == bits([x for _, v in chunks for x in v])


@pytest.mark.parametrize("blob", [b"", b"\x09\x01\x00\x00\x00", C.encode_vals([0.5, 1.5])[:-3] + b"zzz"])
def test_damaged_columns_raise_codec_errors(blob):
    with pytest.raises(C.CodecError):
        C.decode_vals(blob)
    with pytest.raises(C.CodecError):
        decode_vals_many([blob])
