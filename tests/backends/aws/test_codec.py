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
