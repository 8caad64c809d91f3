"""Packing points into binary attributes (no I/O)."""

from __future__ import annotations

from weir.backends.aws.codec import Segment, decode_chunk, encode_chunk, encode_segment

NS = 10**9


def test_segment_round_trip_and_lookup_by_series():
    points = {(7, 3 * NS): 1.5, (-3, 1 * NS): 2.5, (7, 1 * NS): 3.5, (2**62, 0): -1.0}
    blob, digest, first = encode_segment(points)
    seg = Segment(blob)
    assert first == 0
    assert seg.series(7) == ([1 * NS, 3 * NS], [3.5, 1.5])
    assert seg.series(-3) == ([NS], [2.5])
    assert seg.series(8) is None
    assert sorted((sid, t, v) for sid, ts, vs in seg.all_series() for t, v in zip(ts, vs)) == sorted(
        (sid, t, v) for (sid, t), v in points.items()
    )
    assert encode_segment(dict(reversed(points.items())))[1] == digest  # content, not order


def test_regular_points_pack_small():
    ts = [1_790_000_000 * NS + 10 * NS * i for i in range(360)]
    vals = [round(i * 0.37, 3) for i in range(360)]
    blob = encode_chunk(ts, vals)
    assert decode_chunk(blob) == (ts, vals)
    assert len(blob) < 8 * 360  # timestamps cost almost nothing


def encode_chunk_v1(ts: list[int], vals: list[float]) -> bytes:
    """Chunk format 1, as the previous release wrote it: kept here only, to check that
    chunks written before the compressed columns still read back."""
    import zlib
    from array import array

    raw = b"".join((len(ts).to_bytes(4, "little"), ts[0].to_bytes(8, "little", signed=True),
                    array("q", [b - a for a, b in zip(ts, ts[1:])]).tobytes(), array("d", vals).tobytes()))
    return bytes([1]) + zlib.compress(raw)


def test_chunks_of_the_previous_format_still_read():
    ts = [1_790_000_000 * NS + 10 * NS * i for i in range(100)]
    vals = [0.1 * i for i in range(100)]
    assert decode_chunk(encode_chunk_v1(ts, vals)) == (ts, vals)


def test_a_gauge_with_one_decimal_costs_under_two_bytes_a_point():
    import math
    import random

    rnd = random.Random(3)
    ts = [1_790_000_000 * NS + 10 * NS * i for i in range(360)]
    vals = [round(50 + 20 * math.sin(i / 60) + rnd.gauss(0, 2), 1) for i in range(360)]
    blob = encode_chunk(ts, vals)
    assert decode_chunk(blob) == (ts, vals)
    assert len(blob) < 2 * 360
