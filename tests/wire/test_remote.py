"""The remote write and read services over a real SQLite store, with a fixed clock."""

from __future__ import annotations

import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ingest import IngestService
from weir.metrics.timeutil import NS
from weir.promql.source import Matcher
from weir.wire import remote_encode as enc
from weir.wire import remote_read as rr
from weir.wire import remote_write as rw
from weir.wire.remote import ReadLimitError, RemoteReadService, RemoteWriteService, _to_ms

NOW = (int(time.time()) // 60 - 5) * 60  # s, fixed for the test's clock
NOW_MS = NOW * 1000
DAY_MS = 86_400_000


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    deadline = time.time() + 30
    while not s.ready() and time.time() < deadline:
        time.sleep(0.01)
    yield s
    s.close()


@pytest.fixture
def ingest(store):
    return IngestService(store, retention_seconds=86400, clock=lambda: NOW)


def points(store, name):
    out = {}
    series = store.series_of(name)
    got = store.read([s.id for s in series], 0, (NOW + 3600) * NS)
    for s in series:
        ts, vals = got.get(s.id, ([], []))
        out[s.key] = list(zip([t // 1_000_000 for t in ts], vals))
    return out


def test_the_retention_edge_is_the_ingest_services_own(store, ingest):
    """Exactly at the oldest instant ingest accepts: stored; one ms before: the series is dropped whole."""
    svc = RemoteWriteService(ingest)
    edge = NOW_MS - DAY_MS
    body = enc.write_request_v1([({"__name__": "edge", "k": "at"}, [(edge, 1.0), (NOW_MS, 2.0)]),
                                 ({"__name__": "edge", "k": "before"}, [(edge - 1, 1.0), (NOW_MS, 2.0)]),
                                 ({"__name__": "edge", "k": "future"}, [(NOW_MS, 1.0), (NOW_MS + 601_000, 2.0)])])
    out = svc.write(body, rw.V1)
    assert out.written == 2 and [r.index for r in out.dropped] == [1, 2]
    assert "older than the retention" in out.dropped[0].error and "future" in out.dropped[1].error
    assert points(store, "edge") == {'edge{k="at"}': [(edge, 1.0), (NOW_MS, 2.0)]}


def test_a_series_keeps_its_first_type_and_unit(store, ingest):
    """1.0 metadata comes apart from samples and late: the type a series was stored with stays."""
    first = RemoteWriteService(ingest)
    body = enc.write_request_v1([({"__name__": "queue_count"}, [(NOW_MS, 3.0)])])
    assert first.write(body, rw.V1).written == 1
    assert store.series_of("queue_count")[0].type == "counter"  # the reserved suffix, without metadata
    # a fresh process (new caches) hears the metadata first, then the samples
    later = RemoteWriteService(IngestService(store, retention_seconds=86400, clock=lambda: NOW))
    later.write(enc.write_request_v1([], [("queue_count", "gauge", "", "items")]), rw.V1)
    out = later.write(enc.write_request_v1([({"__name__": "queue_count"}, [(NOW_MS + 1000, 4.0)])]), rw.V1)
    assert out.written == 1 and out.dropped == []
    [s] = store.series_of("queue_count")
    assert (s.type, s.unit) == ("counter", None)
    # a series first seen with the metadata takes its type from it
    out = later.write(enc.write_request_v1([({"__name__": "queue_count", "q": "b"}, [(NOW_MS, 1.0)])]), rw.V1)
    assert {x.dimensions.get("q"): (x.type, x.unit) for x in store.series_of("queue_count")} == {
        None: ("counter", None), "b": ("gauge", "items")}


def test_stale_markers_are_skipped_not_refused(store, ingest):
    import struct

    stale = struct.unpack("<d", struct.pack("<Q", rw.STALE_NAN))[0]
    svc = RemoteWriteService(ingest)
    out = svc.write(enc.write_request_v1([({"__name__": "gone"}, [(NOW_MS, 1.0), (NOW_MS + 1000, stale)]),
                                          ({"__name__": "gone", "all": "stale"}, [(NOW_MS, stale)])]), rw.V1)
    assert (out.written, out.stale, out.dropped, out.dropped_samples) == (1, 2, [], 0)
    assert points(store, "gone") == {"gone": [(NOW_MS, 1.0)]}


def test_start_timestamps_only_for_counters_within_retention(store, ingest):
    svc = RemoteWriteService(ingest)
    series = [enc.SeriesV2({"__name__": "c_total"}, [(NOW_MS, 5.0)], type="counter", start_ms=NOW_MS - 60_000),
              enc.SeriesV2({"__name__": "g"}, [(NOW_MS, 5.0)], type="gauge", start_ms=NOW_MS - 60_000),
              enc.SeriesV2({"__name__": "old_total"}, [(NOW_MS, 5.0)], type="counter", start_ms=NOW_MS - 2 * DAY_MS),
              enc.SeriesV2({"__name__": "after_total"}, [(NOW_MS, 5.0)], type="counter", start_ms=NOW_MS + 1)]
    out = svc.write(enc.write_request_v2(series), rw.V2)
    assert out.written == 4 and out.dropped == []
    assert points(store, "c_total") == {"c_total": [(NOW_MS - 60_000, 0.0), (NOW_MS, 5.0)]}
    for name in ("g", "old_total", "after_total"):
        assert points(store, name) == {name: [(NOW_MS, 5.0)]}


def test_read_selects_with_matchers_and_is_bounded(store, ingest):
    svc = RemoteWriteService(ingest)
    body = enc.write_request_v1(
        [({"__name__": "cpu", "host": f"h{i}", "dc": "x" if i % 2 else ""}, [(NOW_MS + k, float(k)) for k in range(3)])
         for i in range(4)] + [({"__name__": "mem", "host": "h0"}, [(NOW_MS, 1.0)])])
    svc.write(body, rw.V1)
    reader = RemoteReadService(store)

    def keys(*m, start=NOW_MS, end=NOW_MS + 2):
        [res] = reader.read([rr.Query(start, end, [Matcher(name, op, value) for op, name, value in m])])
        return [(labels["__name__"], labels["host"], len(t)) for labels, t, _ in res]

    assert keys(("=", "__name__", "cpu"), ("=", "dc", "")) == [("cpu", "h0", 3), ("cpu", "h2", 3)]
    assert keys(("=~", "__name__", "cpu|mem"), ("=", "host", "h0")) == [("cpu", "h0", 3), ("mem", "h0", 1)]
    assert keys(("=", "host", "h0"), end=NOW_MS) == [("cpu", "h0", 1), ("mem", "h0", 1)]  # the end is inclusive
    assert keys(("=", "__name__", "cpu"), ("=", "__name__", "mem")) == []
    assert keys(("!~", "__name__", ".*")) == []
    small = RemoteReadService(store, max_samples=5)
    with pytest.raises(ReadLimitError, match="more than 5 samples"):
        small.read([rr.Query(NOW_MS, NOW_MS + 2, [Matcher("__name__", "=", "cpu")])])
    few = RemoteReadService(store, max_series=2)
    with pytest.raises(ReadLimitError, match="select 4 series, more than the 2"):
        few.read([rr.Query(NOW_MS, NOW_MS + 2, [Matcher("__name__", "=", "cpu")])])


def test_points_within_one_millisecond_keep_the_last():
    assert _to_ms([1_000_000, 1_500_000, 2_000_000], [1.0, 2.0, 3.0]) == ([1, 2], [2.0, 3.0])
    assert _to_ms([1_000_000, 2_000_000], [1.0, 2.0]) == ([1, 2], [1.0, 2.0])


def test_a_nan_or_infinity_drops_its_series_whole(store, ingest):
    svc = RemoteWriteService(ingest)
    body = enc.write_request_v1([({"__name__": "v", "s": "nan"}, [(NOW_MS, 1.0), (NOW_MS + 1, float("nan"))]),
                                 ({"__name__": "v", "s": "inf"}, [(NOW_MS, float("-inf"))]),
                                 ({"__name__": "v", "s": "ok"}, [(NOW_MS, 2.0)])])
    out = svc.write(body, rw.V1)
    assert (out.written, [r.index for r in out.dropped], out.dropped_samples) == (1, [0, 1], 3)
    assert all("finite numbers only" in r.error for r in out.dropped)
    assert points(store, "v") == {'v{s="ok"}': [(NOW_MS, 2.0)]}
