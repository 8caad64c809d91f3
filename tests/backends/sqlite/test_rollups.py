"""Finalised hours, rollups and retention by resolution on SQLite, against plain arithmetic.

Each example writes random points (and late writes) over ten hours, with the raw points
kept 3 hours, minute rollups 6 and hourly rollups 10 days; finalises and expires; then
asks every kind of question. The expected answers are computed from the points written
(the last write of a timestamp wins), over what each resolution keeps.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import FakeClock
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import InvalidInputError
from weir.metrics.aggregate import summarize
from weir.metrics.ports import PointBatch
from weir.metrics.query.service import QueryService
from weir.metrics.series import make_series
from weir.metrics.sketch import ERROR_BOUND, ZERO
from weir.metrics.timeutil import NS

HOUR = 3600 * NS
T0 = 1_700_000_000 // 3600 * 3600 * NS  # an hour boundary, long ago: the clock is fake
NOW = T0 + 10 * HOUR + 17 * 60 * NS
RAW, MINUTES, HOURS = 3 * 3600, 6 * 3600, 10 * 86400
SERIES = [make_series("cpu", {"host": f"h{i}", "region": f"r{i % 2}"}, "gauge", None) for i in range(3)]


def open_store(path: Path, clock: FakeClock) -> SqliteMetricStore:
    return SqliteMetricStore(path / "m.db", retention_seconds=RAW, minute_retention_seconds=MINUTES,
                             hour_retention_seconds=HOURS, finalise_grace_seconds=0, clock=clock)


def write(store, points, new=()):
    b = PointBatch(new_series=list(new))
    for s, t, v in points:
        b.series_ids.append(s.id)
        b.timestamps.append(t)
        b.values.append(v)
    store.append(b)


point = st.tuples(st.integers(0, 2), st.integers(0, 10 * 3600 - 1),
                  st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: round(v, 2)))


def visible(truth: dict, start: int, end: int, since: int) -> dict:
    return {k: v for k, v in truth.items() if max(start, since) <= k[1] < end}


def expected(points: dict, start: int, period: int, stats: list[str], group_by: str | None) -> dict:
    cells: dict[tuple, list] = {}
    for (i, t), v in sorted(points.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        g = SERIES[i].dimensions[group_by] if group_by else ""
        cells.setdefault((g, (t - start) // period), []).append(v)
    out = {}
    for key, vals in cells.items():
        row = summarize(vals, [s for s in stats if s != "last"])
        if "last" in stats:  # latest time; at equal times the series last by key
            latest = max(((t, SERIES[i].key), v) for (i, t), v in points.items()
                         if (SERIES[i].dimensions[group_by] if group_by else "") == key[0]
                         and (t - start) // period == key[1])
            row["last"] = latest[1]
        out[key] = row
    return out


def answer(svc, params, group_by):
    result = svc.query("cpu", params)
    period = int(params["period"]) * NS
    start = int(params["start"]) * NS // period * period  # the service aligns start to the period
    got = {}
    for g in result.groups:
        for p in g.datapoints:
            i = (int(p["timestamp"].timestamp()) * NS - start) // period
            got[(g.group.get(group_by, "") if group_by else "", i)] = p
    return result, got


def check(got, want, stats, estimated=False):
    assert got.keys() == want.keys()
    for key, row in want.items():
        for s in stats:
            g, w = got[key][s], row[s]
            if s in ("sum", "avg"):
                assert g == pytest.approx(w, rel=1e-9, abs=1e-6), (key, s)
            elif s.startswith("p") and estimated:
                assert abs(g - w) <= ERROR_BOUND * 1e6 + ZERO, (key, s)  # bound checked tightly in test_periods
            else:
                assert g == w, (key, s, g, w)


@settings(max_examples=25, phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target])
@given(st.lists(point, min_size=1, max_size=150), st.lists(point, max_size=30))
def test_every_resolution_answers_like_plain_arithmetic(first, late):
    with tempfile.TemporaryDirectory() as d:
        clock = FakeClock(ns=NOW)
        store = open_store(Path(d), clock)
        try:
            truth: dict[tuple[int, int], float] = {}
            pts = [(SERIES[i], T0 + s * NS, v) for i, s, v in first]
            write(store, pts, SERIES)
            truth.update({(i, T0 + s * NS): v for i, s, v in first})
            store.finalise()
            store.sweep()
            # late writes within the raw retention re-open their (finalised) hours
            lates = [(i, s, v) for i, s, v in late if T0 + s * NS >= NOW - RAW * NS]
            # (series are named again, as ingest does after a sweep may have forgotten them)
            write(store, [(SERIES[i], T0 + s * NS, v) for i, s, v in lates], SERIES)
            truth.update({(i, T0 + s * NS): v for i, s, v in lates})
            svc = QueryService(store, RAW, clock)
            start, end = T0, T0 + 11 * HOUR
            base = {"start": str(start // NS), "end": str(end // NS)}
            raw_from = NOW - RAW * NS
            minute_from = (NOW - MINUTES * NS) // HOUR * HOUR

            stats = ["count", "sum", "avg", "min", "max", "last"]
            for period, since in ((3600, start), (7200, start), (60, minute_from), (300, minute_from)):
                for group_by in (None, "region"):
                    params = {"start": str(since // NS), "end": str(end // NS), "period": str(period),
                              "stat": ",".join(stats)}
                    if group_by:
                        params["group_by"] = group_by
                    result, got = answer(svc, params, group_by)
                    check(got, expected(visible(truth, since, end, since), since, period * NS, stats, group_by),
                          stats)
                    assert result.estimated is None
            with pytest.raises(InvalidInputError, match="multiple of 3600"):  # minutes are kept 6 hours
                svc.query("cpu", {**base, "period": "60", "stat": "avg"})

            pct = ["count", "p50", "p99"]
            result, got = answer(svc, {**base, "period": "3600", "stat": ",".join(pct)}, None)
            check(got, expected(visible(truth, start, end, start), start, HOUR, pct, None), ["count"])
            old = {k: v for k, v in got.items() if start + k[1] * HOUR < raw_from - raw_from % HOUR}
            if old:
                assert result.estimated == {"p50": 0.01, "p99": 0.01}
            # percentiles at minute periods reach back only as far as the raw points
            with pytest.raises(InvalidInputError, match="multiple of 3600"):
                svc.query("cpu", {**base, "period": "60", "stat": "p99"})
            recent = {"start": str(raw_from // NS + 1), "end": str(end // NS), "period": "60", "stat": "p50,count"}
            _, got = answer(svc, recent, None)
            r0 = (raw_from // NS + 1) // 60 * 60 * NS
            check(got, expected(visible(truth, r0, end, raw_from), r0, 60 * NS, ["p50", "count"], None),
                  ["p50", "count"])
        finally:
            store.close()


def test_a_late_write_reopens_its_hour_until_finalised_again(tmp_path):
    clock = FakeClock(ns=NOW)
    store = open_store(tmp_path, clock)
    try:
        hour = NOW - 2 * HOUR - NOW % HOUR
        write(store, [(SERIES[0], hour + k * 60 * NS, float(k)) for k in range(60)], SERIES)
        store.finalise()
        svc = QueryService(store, RAW, clock)
        params = {"start": str(hour // NS), "end": str((hour + HOUR) // NS), "period": "3600", "stat": "count,max"}
        r = svc.query("cpu", params)
        assert [x.resolution for x in r.resolutions] == ["1h"]
        assert r.groups[0].datapoints[0]["max"] == 59.0
        write(store, [(SERIES[0], hour + 30 * NS, 1000.0)])
        r = svc.query("cpu", params)  # in the head: raw
        assert [x.resolution for x in r.resolutions] == ["raw"] and r.groups[0].datapoints[0]["max"] == 1000.0
        store.flush()
        r = svc.query("cpu", params)  # flushed, pending: raw
        assert [x.resolution for x in r.resolutions] == ["raw"] and r.groups[0].datapoints[0]["count"] == 61
        store.finalise()
        r = svc.query("cpu", params)
        assert [x.resolution for x in r.resolutions] == ["1h"]
        assert (r.groups[0].datapoints[0]["count"], r.groups[0].datapoints[0]["max"]) == (61, 1000.0)
        import sqlite3

        db = sqlite3.connect(tmp_path / "m.db")
        assert db.execute("SELECT count(*) FROM chunks").fetchone() == (1,)  # merged into one chunk
        assert db.execute("SELECT count(*) FROM pending").fetchone() == (0,)
    finally:
        store.close()


def test_past_the_raw_retention_answers_come_from_rollups_and_say_so(tmp_path):
    clock = FakeClock(ns=NOW)
    store = open_store(tmp_path, clock)
    try:
        write(store, [(SERIES[1], T0 + k * 10 * NS, float(k % 7)) for k in range(10 * 360)], SERIES)
        store.finalise()
        store.sweep()
        svc = QueryService(store, RAW, clock)
        base = {"start": str(T0 // NS), "end": str((T0 + 10 * HOUR) // NS)}
        r = svc.query("cpu", {**base, "period": "3600", "stat": "count,sum"})
        assert [p["count"] for p in r.groups[0].datapoints] == [360] * 10
        assert [x.resolution for x in r.resolutions] == ["1h"]  # every hour closed and finalised
        with pytest.raises(InvalidInputError, match="multiple of 3600 s"):  # minutes are kept 6 hours
            svc.query("cpu", {**base, "period": "600", "stat": "count,max,last"})
        r = svc.query("cpu", {**base, "start": str((T0 + 4 * HOUR) // NS), "period": "600", "stat": "count,max,last"})
        assert [(x.start, x.end, x.resolution) for x in r.resolutions] == [
            ("2023-11-15T02:00:00Z", "2023-11-15T05:00:00Z", "1m"),  # from the hour of NOW - 6 h
            ("2023-11-15T05:00:00Z", "2023-11-15T08:00:00Z", "raw"),  # from the hour of NOW - 3 h
        ]
        assert [p["count"] for p in r.groups[0].datapoints] == [60] * 36
        r = svc.query("cpu", {**base, "period": "3600", "stat": "p90"})
        assert r.estimated == {"p90": 0.01}
        assert all(math.isclose(p["p90"], 6.0, rel_tol=0.011) for p in r.groups[0].datapoints)
    finally:
        store.close()


def test_the_hour_at_the_raw_edge_counts_whole_whichever_way_it_is_read(tmp_path):
    """Points expire a whole hour at a time: the hour holding NOW - retention answers with
    all its points, from its record when finalised and from its chunks when a late write
    has re-opened it (found by the property test above)."""
    clock = FakeClock(ns=NOW)
    store = open_store(tmp_path, clock)
    try:
        edge = T0 + 7 * HOUR  # NOW - RAW is 17 minutes into it
        write(store, [(SERIES[0], edge + 60 * NS, 1.0), (SERIES[0], edge + 1800 * NS, 2.0)], SERIES)
        store.finalise()
        store.sweep()
        svc = QueryService(store, RAW, clock)
        params = {"start": str(T0 // NS), "end": str((T0 + 11 * HOUR) // NS), "period": "3600"}
        for stat in ("count", "count,p50"):
            assert [p["count"] for p in svc.query("cpu", {**params, "stat": stat}).groups[0].datapoints] == [2]
        write(store, [(SERIES[0], edge + 1900 * NS, 3.0)], SERIES)  # late, after the edge
        for stat in ("count", "count,p50"):
            assert [p["count"] for p in svc.query("cpu", {**params, "stat": stat}).groups[0].datapoints] == [3]
    finally:
        store.close()


@settings(max_examples=200, deadline=None)
@given(pairs=st.sets(st.tuples(st.integers(-3, 12), st.integers(0, 5)), max_size=40),
       first=st.integers(-4, 13), end=st.integers(-4, 14), offset=st.integers(-1, 1))
def test_pending_hours_seek_finds_what_a_distinct_scan_finds(pairs, first, end, offset):
    import sqlite3

    from weir.backends.sqlite import rollups, schema

    conn = sqlite3.connect(":memory:")
    conn.executescript(schema.TABLES + schema.TABLES_2)  # the store's own tables
    conn.executemany("INSERT INTO pending VALUES (?, ?)", [(h * HOUR, s) for h, s in pairs])
    lo, hi = first * HOUR + offset, end * HOUR - offset  # bounds on and off hour starts
    scan = {h for (h,) in conn.execute("SELECT DISTINCT hour FROM pending WHERE hour >= ? AND hour < ?", (lo, hi))}
    assert rollups.pending_hours(conn, lo, hi) == scan
