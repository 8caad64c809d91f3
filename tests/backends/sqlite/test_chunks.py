"""The bulk read of chunk rows: rows of one series that overlap (several flushes of an hour
not finalised yet, late writes) are merged with the row written last winning, whatever
order the rows come in from the index (`ORDER BY series_id, t_max, id`)."""

from __future__ import annotations

import sqlite3

from hypothesis import given, settings
from hypothesis import strategies as st

from weir.backends.sqlite import chunks
from weir.backends.sqlite.schema import FMT_COLUMNS
from weir.metrics.encoding.columns import encode_ts, encode_vals

# a row: (series, sorted unique offsets in seconds, a value tag)
row = st.tuples(st.integers(1, 3), st.lists(st.integers(0, 60), min_size=1, max_size=12, unique=True).map(sorted),
                st.integers(0, 9))


def table(rows) -> sqlite3.Connection:
    """The rows in a real `chunks` table, in write order (row id)."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, series_id INTEGER NOT NULL, "
                 "t_min INTEGER NOT NULL, t_max INTEGER NOT NULL, n INTEGER NOT NULL, ts BLOB NOT NULL, "
                 "vals BLOB NOT NULL, fmt INTEGER NOT NULL)")
    conn.execute("CREATE INDEX chunks_series ON chunks (series_id, t_max)")
    for sid, offsets, tag in rows:
        ts = [o * 10**9 for o in offsets]
        vals = [float(tag * 100 + o) for o in offsets]
        conn.execute("INSERT INTO chunks (series_id, t_min, t_max, n, ts, vals, fmt) VALUES (?,?,?,?,?,?,?)",
                     (sid, ts[0], ts[-1], len(ts), encode_ts(ts), encode_vals(vals), FMT_COLUMNS))
    return conn


@settings(max_examples=200, deadline=None)
@given(st.lists(row, min_size=1, max_size=8))
def test_overlapping_rows_merge_with_the_last_written_winning(rows):
    conn = table(rows)
    got = chunks.read_arrays(chunks.select_rows(conn, [1, 2, 3], (0, 10**12, 10**12)), {}, 0, 10**12)
    want: dict[int, dict[int, float]] = {}
    for sid, offsets, tag in rows:  # write order: later rows overwrite
        for o in offsets:
            want.setdefault(sid, {})[o * 10**9] = float(tag * 100 + o)
    assert got.ids.tolist() == sorted(want)
    for sid, ts, vals in got.items():
        assert ts.tolist() == sorted(want[sid])
        assert vals.tolist() == [want[sid][t] for t in sorted(want[sid])]
