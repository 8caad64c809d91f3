"""The MetricStore contract, run against every backend: SQLite, and DynamoDB on a moto server.

Each test reads twice where it matters: right after writing (SQLite: from the in-memory
head; DynamoDB: from segments) and after `settle` (SQLite: flushed into chunks; DynamoDB:
the hours compacted into chunks through the real `compact_all_due` path, the clock moved
past the compaction grace). A backend passes the same tests or it is not done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.conftest import FakeClock
from weir.metrics.ports import PointBatch
from weir.metrics.series import Series, make_series
from weir.metrics.timeutil import NS

RETENTION = 30 * 86_400
LONGEST_RETENTION = 455 * 86_400  # hourly rollups outlive the raw points
HOUR = 3600 * NS
T0 = (int(time.time()) // 3600 - 3) * 3600 * NS  # an hour boundary three hours ago


@dataclass
class Harness:
    store: object
    clock: FakeClock
    settle: Callable[[], None]  # make the read path use the backend's compacted form
    expire: Callable[[], None]  # run whatever enforces retention


@pytest.fixture(params=["sqlite", "dynamodb"])
def h(request, tmp_path, no_scan):
    clock = FakeClock(T0 / NS + 4 * 3600)
    if request.param == "sqlite":
        from weir.backends.sqlite.metrics import SqliteMetricStore

        store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=RETENTION, clock=clock)

        def expire():
            store.flush()
            store.sweep()

        yield Harness(store, clock, store.flush, expire)
        store.close()
        return
    client = request.getfixturevalue("dynamodb")
    metrics_table, series_table = request.getfixturevalue("aws_tables")
    from weir.backends.aws.metrics import DynamoMetricStore

    calls = no_scan(client)
    store = DynamoMetricStore(
        client, metrics_table=metrics_table, series_table=series_table, retention_seconds=RETENTION, clock=clock
    )

    def settle():
        clock.t += 2 * 3600  # every hour written so far is now closed past the grace
        done = store.compact_all_due()
        assert all(r.compacted for r in done)

    yield Harness(store, clock, settle, lambda: None)
    store.close()
    assert calls, "the hook saw no DynamoDB call"


def read(h, ids, start, end) -> dict:
    """`store.read`, with series that have no point in the range left out (either is allowed)."""
    return {sid: pts for sid, pts in h.store.read(ids, start, end).items() if pts[0]}


def series(name="cpu", type_="gauge", unit=None, **dims) -> Series:
    return make_series(name, dims, type_, unit)


def batch(points: list[tuple[Series, int, float]], new: list[Series] = ()) -> PointBatch:
    b = PointBatch(new_series=list(new))
    for s, ts, v in points:
        b.series_ids.append(s.id)
        b.timestamps.append(ts)
        b.values.append(v)
    return b


def test_unknown_series_is_none(h):
    assert h.store.get_series(series(host="never").id) is None
    assert h.store.metric_names() == {}
    assert h.store.series_of("cpu") == []
    assert read(h, [series(host="never").id], 0, T0 * 2) == {}


def test_new_series_are_stored_with_type_unit_and_dimensions(h):
    s = series("bytes_in", "counter", "By", host="a", region="eu")
    h.store.append(batch([(s, T0, 1.0)], [s]))
    got = h.store.get_series(s.id)
    assert got == s and got.type == "counter" and got.unit == "By"
    assert got.dimensions == {"host": "a", "region": "eu"}


def test_points_come_back_sorted_within_the_range(h):
    s = series(host="a")
    h.store.append(batch([(s, T0 + 30 * NS, 3.0), (s, T0 + 10 * NS, 1.0)], [s]))
    h.store.append(batch([(s, T0 + 20 * NS, 2.0), (s, T0 + 40 * NS, 4.0)]))

    def check():
        want = ([T0 + k * 10 * NS for k in (1, 2, 3, 4)], [1.0, 2.0, 3.0, 4.0])
        assert read(h, [s.id], T0, T0 + HOUR) == {s.id: want}
        assert read(h, [s.id], T0 + 20 * NS, T0 + 40 * NS) == {s.id: ([T0 + 20 * NS, T0 + 30 * NS], [2.0, 3.0])}
        assert read(h, [s.id], T0 + 41 * NS, T0 + HOUR) == {}

    check()
    h.settle()
    check()


def test_two_series_at_the_same_instant_never_overwrite_each_other(h):
    """The seed keyed its table by metric name and timestamp: one of these was lost."""
    a, b = series(host="a"), series(host="b")
    h.store.append(batch([(a, T0, 1.0), (b, T0, 2.0)], [a, b]))
    other = series("mem", host="a")
    h.store.append(batch([(other, T0, 3.0)], [other]))
    for _ in range(2):
        got = read(h, [a.id, b.id, other.id], T0, T0 + NS)
        assert got == {a.id: ([T0], [1.0]), b.id: ([T0], [2.0]), other.id: ([T0], [3.0])}
        h.settle()


def test_the_same_point_written_twice_lands_once_and_the_later_value_wins(h):
    s = series(host="a")
    h.store.append(batch([(s, T0, 1.0), (s, T0 + NS, 5.0)], [s]))
    h.store.append(batch([(s, T0, 1.0), (s, T0 + NS, 5.0)]))  # a retried request
    assert read(h, [s.id], T0, T0 + HOUR) == {s.id: ([T0, T0 + NS], [1.0, 5.0])}
    h.store.append(batch([(s, T0, 2.0)]))  # a correction
    h.store.append(batch([(s, T0 + NS, 6.0), (s, T0 + NS, 7.0)]))  # within a request, the last one
    for _ in range(2):
        assert read(h, [s.id], T0, T0 + HOUR) == {s.id: ([T0, T0 + NS], [2.0, 7.0])}
        h.settle()


def test_metric_names_count_series_and_series_of_sorts_by_key(h):
    members = [series(host=f"h{i}", region="r1") for i in (3, 1, 2)]
    other = series("mem", host="x")
    h.store.append(batch([(s, T0, 1.0) for s in members + [other]], members + [other]))
    h.store.append(batch([(members[0], T0 + NS, 1.0)]))
    assert h.store.metric_names() == {"cpu": 3, "mem": 1}
    assert [s.key for s in h.store.series_of("cpu")] == sorted(s.key for s in members)
    assert h.store.series_of("mem") == [other]
    assert h.store.series_of("nope") == []


def test_points_across_hours_and_a_late_write_into_a_compacted_hour(h):
    s = series(host="a")
    pts = [(s, T0 + k * 20 * 60 * NS, float(k)) for k in range(9)]  # 3 hours, every 20 minutes
    h.store.append(batch(pts[:5], [s]))
    h.settle()
    h.store.append(batch(pts[5:]))
    want = ([p[1] for p in pts], [p[2] for p in pts])
    assert read(h, [s.id], T0, T0 + 3 * HOUR) == {s.id: want}
    late = (s, T0 + 5 * 60 * NS, 99.0)  # into the first hour, already compacted
    fix = (s, T0 + 20 * 60 * NS, -1.0)  # overwrites a compacted point
    h.store.append(batch([late, fix]))
    merged = dict(zip(*want))
    merged[late[1]] = 99.0
    merged[fix[1]] = -1.0
    ts = sorted(merged)
    for _ in range(2):
        assert read(h, [s.id], T0, T0 + 3 * HOUR) == {s.id: (ts, [merged[t] for t in ts])}
        assert read(h, [s.id], T0 + HOUR, T0 + 2 * HOUR) == {s.id: (ts[4:7], [merged[t] for t in ts[4:7]])}
        h.settle()


def test_a_large_batch_of_one_series(h):
    """More points than fit in one DynamoDB item or one SQLite chunk."""
    s = series(host="big")
    n = 20_000
    pts = [(s, T0 + k * NS // 10, float(k)) for k in range(n)]  # 10 per second: 2,000 s
    h.store.append(batch(pts, [s]))
    for _ in range(2):
        ts, vals = read(h, [s.id], T0, T0 + HOUR)[s.id]
        assert len(ts) == n and ts == [p[1] for p in pts] and vals == [p[2] for p in pts]
        h.settle()


def test_many_series_in_one_batch(h):
    members = [series(host=f"h{i}") for i in range(300)]
    h.store.append(batch([(s, T0 + i * NS, float(i)) for i, s in enumerate(members)], members))
    for _ in range(2):
        got = read(h, [s.id for s in members], T0, T0 + HOUR)
        assert got == {s.id: ([T0 + i * NS], [float(i)]) for i, s in enumerate(members)}
        assert h.store.metric_names() == {"cpu": 300}
        h.settle()


def test_reads_of_unknown_or_empty_ranges(h):
    s = series(host="a")
    h.store.append(batch([(s, T0, 1.0)], [s]))
    assert read(h, [], T0, T0 + HOUR) == {}
    assert read(h, [s.id], T0 + HOUR, T0) == {}
    assert read(h, [series(host="zz").id], T0, T0 + HOUR) == {}


def test_retention_forgets_points_and_series(h):
    s = series(host="old")
    h.store.append(batch([(s, T0, 1.0)], [s]))
    h.settle()
    h.clock.t = T0 / NS + RETENTION + 3 * 86_400
    h.expire()
    assert read(h, [s.id], 0, T0 + HOUR) == {}  # the points are gone, the series stays for its rollups
    assert h.store.get_series(s.id) == s
    h.clock.t = T0 / NS + LONGEST_RETENTION + 3 * 86_400
    h.expire()
    assert read(h, [s.id], 0, T0 + HOUR) == {}
    assert h.store.metric_names() == {}
    assert h.store.series_of("cpu") == []
    assert h.store.get_series(s.id) is None


def test_scan_yields_every_series_of_the_window_by_id(h):
    """What an hourly export reads: all metrics, ascending series id, trimmed, later writes winning."""
    cpu = [series(host=f"h{i}") for i in range(6)]
    mem = [series("mem", host=f"h{i}") for i in range(3)]
    idle = series("disk", host="h0")  # written only outside the window
    pts = [(s, T0 + HOUR + k * 600 * NS, float(i * 10 + k)) for i, s in enumerate(cpu + mem) for k in range(6)]
    h.store.append(batch(pts + [(idle, T0, 1.0)], cpu + mem + [idle]))
    h.store.append(batch([(cpu[0], T0 + HOUR, -1.0), (cpu[1], T0 + 2 * HOUR, 5.0)]))  # a fix; the next hour
    want = {}
    for s, t, v in pts:
        want.setdefault(s.id, {})[t] = v
    want[cpu[0].id][T0 + HOUR] = -1.0
    for _ in range(2):
        got = list(h.store.scan(T0 + HOUR, T0 + 2 * HOUR))
        assert [s.id for s, _, _ in got] == sorted(want)
        assert {s.id: dict(zip(ts, vals)) for s, ts, vals in got} == want
        assert all(ts == sorted(ts) for _, ts, _ in got)
        assert got[0][0] in cpu + mem and all(s == h.store.get_series(s.id) for s, _, _ in got)
        part = {s.id: ts for s, ts, _ in h.store.scan(T0 + HOUR + 1200 * NS, T0 + HOUR + 1800 * NS)}
        assert part == {sid: [T0 + HOUR + 1200 * NS] for sid in want}
        assert list(h.store.scan(T0 + 3 * HOUR, T0 + 4 * HOUR)) == []
        h.settle()


def test_past_the_raw_retention_hourly_rollups_answer_and_say_so(h):
    """The same questions, the same answers from both backends: hourly rollups for hours
    whose points have expired (exact for count, sum, min, max, last; percentiles from
    sketches, marked as estimates), and a clear 400 for what they cannot answer."""
    from weir.errors import InvalidInputError
    from weir.metrics.query.service import QueryService

    members = [series(host=f"h{i}", region="eu" if i < 2 else "us") for i in range(3)]
    pts = [(s, T0 + k * 60 * NS, float(i * 100 + k)) for i, s in enumerate(members) for k in range(120)]
    h.store.append(batch(pts, members))
    h.settle()
    h.clock.t = T0 / NS + RETENTION + 86_400  # the points have expired; the hourly rollups have not
    h.expire()
    assert read(h, [s.id for s in members], 0, T0 + 3 * HOUR) == {}
    svc = QueryService(h.store, RETENTION, h.clock)
    q = {"start": str(T0 // NS), "end": str((T0 + 2 * HOUR) // NS), "period": "3600", "group_by": "region"}
    r = svc.query("cpu", {**q, "stat": "count,sum,min,max,last"})
    assert [(x.resolution, x.start) for x in r.resolutions][:1] == [("1h", r.start)]
    got = {g.group["region"]: [(p["count"], p["sum"], p["min"], p["max"], p["last"]) for p in g.datapoints]
           for g in r.groups}
    assert got == {
        "eu": [(120, sum(range(60)) + sum(range(100, 160)), 0.0, 159.0, 159.0),
               (120, sum(range(60, 120)) + sum(range(160, 220)), 60.0, 219.0, 219.0)],
        "us": [(60, float(sum(range(200, 260))), 200.0, 259.0, 259.0),
               (60, float(sum(range(260, 320))), 260.0, 319.0, 319.0)],
    }
    assert r.estimated is None
    r = svc.query("cpu", {**q, "stat": "p50"})
    assert r.estimated == {"p50": 0.01}
    exact = {"eu": [79.5, 139.5], "us": [229.5, 289.5]}  # interpolated medians of the raw points
    for g in r.groups:
        for p, want in zip(g.datapoints, exact[g.group["region"]]):
            assert abs(p["p50"] - want) <= 0.0101 * 260  # within 1% of the neighbouring values
    with pytest.raises(InvalidInputError, match="multiple of 3600"):
        svc.query("cpu", {**q, "period": "60", "stat": "p50"})


def _fleet(h, n=30):
    """cpu{host=h00..h29, region=r0..r2, tier=a|b}: every series one point."""
    members = [series(host=f"h{i:02d}", region=f"r{i % 3}", tier="ab"[i % 2]) for i in range(n)]
    h.store.append(batch([(s, T0, float(i)) for i, s in enumerate(members)], members))
    return members


def test_select_by_dimensions_uses_every_filter(h):
    members = _fleet(h)
    h.store.append(batch([(series("mem", host="h01"), T0, 1.0)], [series("mem", host="h01")]))
    assert h.store.select("cpu", {"host": "h07"}) == [members[7]]
    got = h.store.select("cpu", {"region": "r1", "tier": "b"})
    assert got == sorted((s for s in members if s.dimensions["region"] == "r1" and s.dimensions["tier"] == "b"),
                         key=lambda s: s.key)
    assert [s.key for s in got] == sorted(s.key for s in got) and len(got) == 5
    assert h.store.select("cpu", {"host": "h07", "region": "r0"}) == []
    assert h.store.select("cpu", {"host": "nope"}) == []
    assert h.store.select("mem", {"host": "h01"}) == [series("mem", host="h01")]
    assert h.store.select("nope", {"host": "h01"}) == []
    assert h.store.count_selected("cpu", {"region": "r1"}, cap=100) == 10
    assert h.store.count_selected("cpu", {}, cap=100) == 30
    assert h.store.count_selected("cpu", {}, cap=5) > 5


def test_select_pages_in_key_order(h):
    members = sorted(_fleet(h), key=lambda s: s.key)
    pages, after = [], None
    while True:
        page = h.store.select("cpu", {}, limit=7, after=after)
        if not page:
            break
        pages.append(page)
        after = page[-1].key
    assert [len(p) for p in pages] == [7, 7, 7, 7, 2]
    assert [s for p in pages for s in p] == members
    r1 = [s for s in members if s.dimensions["region"] == "r1"]
    assert h.store.select("cpu", {"region": "r1"}, limit=4) == r1[:4]
    assert h.store.select("cpu", {"region": "r1"}, limit=4, after=r1[3].key) == r1[4:8]


def test_label_stats_count_pairs_and_values(h):
    _fleet(h, 6)
    h.store.append(batch([(series("mem", host="h00"), T0, 1.0)], [series("mem", host="h00")]))
    keys, pairs = h.store.label_stats()
    assert sorted(keys) == [("host", 6, 18), ("region", 3, 6), ("tier", 2, 2)]
    counts = {(k, v): n for k, v, n in pairs}
    assert counts[("host", "h00")] == 2 and counts[("region", "r0")] == 2 and counts[("tier", "a")] == 3
    assert [n for _, _, n in pairs] == sorted((n for _, _, n in pairs), reverse=True)


def test_selection_survives_restart_and_retention(h):
    members = _fleet(h, 6)
    h.settle()
    assert h.store.select("cpu", {"host": "h03"}) == [members[3]]
    h.clock.t += RETENTION + 5 * 86_400
    h.expire()  # SQLite: the sweep; DynamoDB: items past their `ttl` read as gone
    assert h.store.select("cpu", {"host": "h03"}) == [members[3]]  # its hourly rollups are kept
    h.clock.t += LONGEST_RETENTION
    h.expire()
    assert h.store.select("cpu", {"host": "h03"}) == []
    assert h.store.select("cpu", {}) == []
    assert h.store.metric_names() == {}
