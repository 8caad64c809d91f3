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


@given(st.lists(st.lists(any_float | decimals, min_size=3, max_size=3), min_size=1, max_size=12), st.booleans())
def test_bulk_decoding_of_columns_of_one_length_matches_one_by_one(columns, odd_one):
    """Many columns of one length (full chunks), with or without one of another length:
    each column's byte planes are un-shuffled with its own length."""
    if odd_one:
        columns = [*columns, columns[0][:2]]
    blobs = [C.encode_vals(v) for v in columns]
    lens, vals = decode_vals_many(blobs)
    assert lens.tolist() == [len(v) for v in columns]
    assert vals.tobytes() == bits([x for v in columns for x in v])


def test_whole_numbers_whose_differences_leave_int64_are_kept_as_bits():
    """2**62 - -2**62 is 2**63, one past int64: such a column is encoded as XOR'd bits (it
    raised OverflowError, so a flush holding these values failed)."""
    roundtrip_vals([0.0, -(2.0**62), 2.0**62])
    roundtrip_vals([2.0**62, -(2.0**62)] * 5)


@pytest.mark.parametrize("width", [0, 1, 7, 8, 9, 15, 16, 17, 25, 26, 31, 32])
@pytest.mark.parametrize("n", [1, 2, 7, 8, 9, 127, 128, 129, 360, 4096])
def test_bit_packed_columns_of_every_width_roundtrip(width, n):
    """Entries spanning exactly `width` bits, at lengths around the 8-entry padding and the
    128-entry packing groups, through both decoders, alone and beside other widths."""
    import random

    rnd = random.Random(width * 10_000 + n)
    top = (1 << width) - 1
    diffs = [rnd.randint(0, top) for _ in range(n - 1)]
    if n > 2:
        diffs[0], diffs[1] = 0, top  # the span is exactly `width` wide
    ints = [0]
    for d in diffs:
        ints.append(ints[-1] + d - top // 2)
    values = [i / 10 for i in ints]
    blob = C.encode_vals(values)
    if n >= 128 and width >= 4:  # shorter or narrower columns may take bytes: smaller there
        assert blob[16] == C.COMP_BITS
    roundtrip_vals(values)
    other = [round(i * 0.7, 1) for i in range(13)]
    lens, got = decode_vals_many([blob, C.encode_vals(other), blob])
    assert lens.tolist() == [n, 13, n]
    assert got.tobytes() == bits([*values, *other, *values])


def test_bit_packed_timestamps_roundtrip_with_their_scale():
    ts = [1_700_000_000 * 10**9 + i * 10**10 + (i * 7919 % 997) * 10**6 for i in range(361)]
    blob = C.encode_ts(ts)
    assert blob[0] == C.T_DELTA and blob[23] == C.COMP_BITS
    assert C.decode_ts(blob) == ts
    assert decode_ts_many([blob, C.encode_ts([5, 10, 15]), blob])[1].tolist() == [*ts, 5, 10, 15, *ts]


def test_mostly_unchanged_values_still_take_zlib():
    """A value that rarely changes: zlib's runs beat any bit width."""
    values = [0.0] * 300 + [512.5] + [0.0] * 59
    blob = C.encode_vals(values)
    assert blob[16] == C.COMP_ZLIB
    roundtrip_vals(values)


@pytest.mark.parametrize("cut", [1, 8, 50])
def test_damaged_bit_packed_columns_raise_codec_errors(cut):
    blob = C.encode_vals([round(0.1 * (i * 37 % 101), 1) for i in range(100)])
    assert blob[16] == C.COMP_BITS
    for damaged in (blob[:-cut], blob + b"\x00" * cut, blob[:15] + bytes([57]) + blob[16:]):
        with pytest.raises(C.CodecError):
            C.decode_vals(damaged)
        with pytest.raises(C.CodecError):
            decode_vals_many([damaged])


@pytest.mark.parametrize("helper_busy", [False, True])
def test_large_decodes_in_two_halves_match_one_pass(monkeypatch, helper_busy):
    """Past PARALLEL_POINTS the second half decodes on the helper thread, straight into its
    part of the output; when another query holds the helper, everything decodes inline."""
    from weir.metrics.encoding import bulk

    chunks = [([10_000 * i + 10 * j for j in range(n)], [round(0.1 * ((i * 7 + j * 13) % 97), 1) for j in range(n)])
              for i, n in enumerate([1, 9, 360, 7, 128, 3])]
    ts_blobs = [C.encode_ts(t) for t, _ in chunks]
    val_blobs = [C.encode_vals(v) for _, v in chunks]
    whole = decode_many(ts_blobs, val_blobs)
    monkeypatch.setattr(bulk, "PARALLEL_POINTS", 1)
    helper = bulk._helper()
    assert helper is not None
    helper[1].release()
    if helper_busy:
        helper[1].acquire()
    try:
        halves = decode_many(ts_blobs, val_blobs)
    finally:
        if helper_busy:
            helper[1].release()
    for a, b in zip(whole, halves):
        assert a.tobytes() == b.tobytes()
    assert halves[1].tolist() == [t for ts, _ in chunks for t in ts]


def test_unequal_column_lists_are_refused():
    with pytest.raises(C.CodecError):
        decode_many([C.encode_ts([1, 2])], [])


# Columns as the previous release wrote them (byte layout, zlib'd or not), recorded from its
# encoder: folders written before bit-packing are read unchanged, by both decoders.
RECORDED = [
    ("vals", "0428000000c80000000000000001010101789c6350553d004507f0310112010e1e",
     [round(20 + ((i * 37) % 101) / 10, 1) for i in range(40)]),
    ("vals", "041e000000e803000000000000000101000001030507090b0d0f11131517191b1d1f21232527292b2d2f3133353739",
     [float(1000 + i * i) for i in range(30)]),
    ("ts", "022800000000002a36fe9c971740420f0000000000010201789c631012e205428204833a7100000a3b0865",
     [1_700_000_000_000_000_000 + i * 10_000_000_000 + (i * 7 % 5) * 1_000_000 for i in range(40)]),
]


@pytest.mark.parametrize("kind, blob, expected", RECORDED)
def test_columns_of_the_previous_release_still_decode(kind, blob, expected):
    raw = bytes.fromhex(blob)
    if kind == "ts":
        assert C.decode_ts(raw) == expected
        assert decode_ts_many([raw, C.encode_ts(expected)])[1].tolist() == expected * 2
    else:
        assert C.decode_vals(raw) == expected
        assert decode_vals_many([raw, C.encode_vals(expected)])[1].tolist() == expected * 2


def test_a_damaged_point_count_is_refused_before_anything_is_allocated():
    regular = bytearray(C.encode_ts([0, 10, 20]))
    regular[1:5] = (2**32 - 1).to_bytes(4, "little")  # 4 billion points at 17 bytes
    with pytest.raises(C.CodecError, match="more than any chunk holds"):
        C.decode_ts(bytes(regular))
    with pytest.raises(C.CodecError, match="more than any chunk holds"):
        decode_ts_many([bytes(regular)])
    with pytest.raises(ValueError, match="at most"):
        C.encode_vals([1.0] * (C.MAX_POINTS + 1))
