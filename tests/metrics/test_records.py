"""Rollup records: built from points, they hold what the points say; encodings round-trip."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from weir.metrics.records import (
    HOUR_RECORD,
    MINUTE_NS,
    MinuteColumns,
    decode_minute_rows,
    hour_record,
    merge_day,
    read_sketch_row,
    sketch_row,
)

H = 1_700_000_000 // 3600 * 3600 * 10**9
points = st.dictionaries(st.integers(0, 3600 * 10**9 - 1), st.floats(-1e9, 1e9, allow_nan=False), min_size=1,
                         max_size=200)


@given(points)
def test_minute_columns_summarise_each_minute_and_roundtrip(pts):
    ts = sorted(H + t for t in pts)
    vals = [pts[t - H] for t in ts]
    m = MinuteColumns.of(ts, vals)
    by_minute: dict[int, list[tuple[int, float]]] = {}
    for t, v in zip(ts, vals):
        by_minute.setdefault(t - t % MINUTE_NS, []).append((t, v))
    assert m.t == sorted(by_minute)
    for i, minute in enumerate(m.t):
        got = by_minute[minute]
        assert m.count[i] == len(got) and m.sum[i] == math.fsum(v for _, v in got)
        assert (m.min[i], m.max[i]) == (min(v for _, v in got), max(v for _, v in got))
        assert (m.last_ts[i], m.last[i]) == got[-1]
    assert MinuteColumns.decode(m.encode()) == m
    cols = decode_minute_rows([m.encode(), m.encode()])
    assert cols["lens"].tolist() == [len(m.t), len(m.t)] and cols["sum"].tolist() == m.sum * 2
    assert cols["count"].tolist() == m.count * 2 and cols["last_ts"].tolist() == m.last_ts * 2


def test_hour_records_merge_into_day_rows_by_hour():
    a = hour_record(H, [H + 1, H + 2], [3.0, 1.0])
    assert HOUR_RECORD.unpack(a) == (H, 2, 4.0, 1.0, 3.0, H + 2, 1.0)
    b = hour_record(H + 3600 * 10**9, [H + 3600 * 10**9], [7.0])
    day = merge_day(None, {H + 3600 * 10**9: b})
    day = merge_day(day, {H: a})
    assert day == a + b
    replaced = hour_record(H, [H + 5], [9.0])
    assert merge_day(day, {H: replaced}) == replaced + b


def test_sketch_rows_keep_each_hours_sketch():
    row = sketch_row(None, {H + 3600 * 10**9: b"two"})
    row = sketch_row(row, {H: b"one"})
    assert read_sketch_row(row) == [(H, b"one"), (H + 3600 * 10**9, b"two")]
