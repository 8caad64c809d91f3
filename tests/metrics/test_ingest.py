"""IngestService over a real (temporary) SQLite store."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ingest import IngestService, NoValidPointsError
from weir.metrics.model import Rejected
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS
from weir.wire.json import ingest_json

NOW = int(time.time())


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86400)
    yield s
    s.close()


def body(points):
    return json.dumps({"metrics": points})


def pts(n, ts=NOW, **extra):
    return [{"name": "m", "value": i, "timestamp": ts, "dimensions": {"h": f"h{i}"}, **extra} for i in range(n)]


def read_all(store, name="m"):
    ids = [s.id for s in store.series_of(name)]
    return store.read(ids, 0, (NOW + 3600) * NS)


def test_cached_fast_path_stores_what_the_first_pass_stored(store):
    svc = IngestService(store, 86400)
    assert ingest_json(svc, body(pts(50))).accepted == 50  # first sight: point by point
    first = read_all(store)
    assert ingest_json(svc, body(pts(50, ts=NOW + 1))).accepted == 50  # all cached: columns
    second = read_all(store)
    assert len(first) == len(second) == 50
    for sid, (ts, vals) in second.items():
        assert ts == [NOW * NS, (NOW + 1) * NS]
        assert vals == [first[sid][1][0]] * 2


def test_a_cached_batch_of_several_metrics_types_and_units_goes_to_each_series(store):
    """The cache looks a batch of one metric up by dimensions alone; a batch mixing metrics,
    types or units must still give every point its own series, the same as the first pass."""
    def mixed(ts):
        return [{"name": name, "value": i, "timestamp": ts, "type": mtype, "unit": unit, "dimensions": {"h": "x"}}
                for i, (name, mtype, unit) in enumerate(
                    [("m", "gauge", None), ("m2", "gauge", None), ("m3", "counter", None), ("m4", "gauge", "s")])]
    svc = IngestService(store, 86400)
    assert ingest_json(svc, body(mixed(NOW))).accepted == 4
    assert ingest_json(svc, body(mixed(NOW + 1))).accepted == 4  # all cached
    for i, name in enumerate(["m", "m2", "m3", "m4"]):
        got = read_all(store, name)
        assert list(got.values()) == [([NOW * NS, (NOW + 1) * NS], [float(i), float(i)])], name


def test_cached_points_without_timestamps_are_stamped_with_the_clock_as_the_first_pass_did(store):
    clock = [float(NOW)]
    svc = IngestService(store, 86400, clock=lambda: clock[0])
    bare = [{"name": "m", "value": i, "dimensions": {"h": f"h{i}"}} for i in range(3)]
    assert ingest_json(svc, body(bare)).accepted == 3  # first sight: point by point
    clock[0] = NOW + 5.5
    assert ingest_json(svc, body(bare)).accepted == 3  # all cached: the columns, stamped now
    got = read_all(store)
    assert sorted(got.values()) == [([NOW * NS, int((NOW + 5.5) * NS)], [float(i), float(i)]) for i in range(3)]


def test_fast_path_still_checks_ranges_and_types(store):
    svc = IngestService(store, 86400)
    ingest_json(svc, body(pts(3)))
    old = pts(3, ts=NOW - 2 * 86400)
    with pytest.raises(NoValidPointsError) as err:
        ingest_json(svc, body(old))
    assert all("older than the retention" in r.error for r in err.value.details)
    typed = pts(3, type="counter")
    with pytest.raises(NoValidPointsError) as err:
        ingest_json(svc, body(typed))
    assert all("is a gauge; got counter" in r.error for r in err.value.details)
    mixed = pts(2) + [{"name": "m", "value": 1, "timestamp": NOW, "dimensions": {"h": "h0"}, "unit": "ms"}]
    result = ingest_json(svc, body(mixed))
    assert result.accepted == 2
    assert "created with no unit; got 'ms'" in result.rejected[0].error


def test_nanosecond_batches_take_the_columns_with_the_same_checks(store, monkeypatch):
    svc = IngestService(store, 86400)
    ingest_json(svc, body(pts(3)))
    calls = []
    columns = svc._validate_known
    monkeypatch.setattr(svc, "_validate_known", lambda *a: calls.append(columns(*a)) or calls[-1])
    assert ingest_json(svc, body(pts(3, ts=(NOW + 2) * NS))).accepted == 3
    assert calls[-1] is not None  # all ns and all cached: the columns took it
    assert all(ts[-1] == (NOW + 2) * NS for ts, _ in read_all(store).values())
    for stale in ((NOW - 2 * 86400) * NS, (NOW + 3600) * NS, 5 * 10**16):  # too old, too new, µs band
        with pytest.raises(NoValidPointsError) as err:
            ingest_json(svc, body(pts(3, ts=stale)))
        assert calls[-1] is None and len(err.value.details) == 3
    mixed = pts(2, ts=(NOW + 3) * NS) + pts(1, ts=NOW + 3)[0:1]  # ns and s in one batch: point by point
    assert ingest_json(svc, body(mixed)).accepted == 3 and calls[-1] is None


def test_unit_conflict(store):
    svc = IngestService(store, 86400)
    ingest_json(svc, body([{"name": "u", "value": 1, "timestamp": NOW, "unit": "ms"}]))
    with pytest.raises(NoValidPointsError) as err:
        ingest_json(svc, body([{"name": "u", "value": 1, "timestamp": NOW, "unit": "s"}]))
    assert "created with unit 'ms'; got 's'" in err.value.details[0].error
    assert ingest_json(svc, body([{"name": "u", "value": 2, "timestamp": NOW}])).accepted == 1


def test_cache_is_dropped_when_the_store_forgets_series(tmp_path):
    fake_now = [time.time()]
    store = SqliteMetricStore(tmp_path / "m.db", retention_seconds=3600, minute_retention_seconds=3600,
                              hour_retention_seconds=3600, clock=lambda: fake_now[0])
    try:
        svc = IngestService(store, 3600, clock=lambda: fake_now[0])
        ingest_json(svc, body(pts(2, ts=int(fake_now[0]))))
        store.flush()
        fake_now[0] += 2 * 86400  # hourly rollups go a whole UTC day at a time
        store.sweep()
        assert store.metric_names() == {}
        ingest_json(svc, body(pts(2, ts=int(fake_now[0]))))
        assert store.metric_names() == {"m": 2}, "series re-registered after the sweep"
    finally:
        store.close()


def test_series_ids_match_the_domain(store):
    ingest_json(IngestService(store, 86400), body(pts(1)))
    [s] = store.series_of("m")
    assert s.id == make_series("m", {"h": "h0"}, "gauge", None).id


class _Store:
    """An in-memory MetricStore: what ingest hands it, to compare two ingest paths."""

    backend, series_epoch = "memory", 0

    def __init__(self) -> None:
        self.series: dict[int, object] = {}
        self.points: list[tuple[int, int, float]] = []

    def get_series(self, sid):
        return self.series.get(sid)

    def append(self, batch) -> None:
        for s in batch.new_series:
            assert s.id not in self.series, "a series announced twice"
            self.series[s.id] = s
        assert set(batch.series_ids) <= set(self.series), "points of a series never announced"
        self.points += zip(batch.series_ids, batch.timestamps, batch.values)


_series_st = st.tuples(st.sampled_from(["m", "n", "bad name"]), st.sampled_from(["gauge", "counter"]),
                       st.sampled_from([None, "ms"]),
                       st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["x", "\n"]), max_size=2))
_points_st = st.lists(st.tuples(st.sampled_from([0, -2 * 86400, 3600, 1]),
                                st.sampled_from([1.0, -2.5, float("nan"), float("inf")])), min_size=1, max_size=3)


@settings(max_examples=150)
@given(st.lists(st.tuples(_series_st, _points_st), min_size=1, max_size=5), st.booleans())
def test_columns_and_points_store_the_same_and_answer_the_same(batch, warm):
    """`ingest_columns` against `ingest_points` on the same series and points: valid or not,
    out of bounds or not, finite or not, cached (warm) or first seen."""
    import msgspec

    from weir.metrics.ingest import NoValidPointsError
    from weir.metrics.model import WirePoint

    now_ns = NOW * NS
    outcomes = []
    for way in ("columns", "points"):
        svc = IngestService(_Store(), 86400, clock=lambda: NOW)
        keys, counts, times, values, points = [], [], [], [], []
        for (name, mtype, unit, dims), pts_ in batch:
            raw = msgspec.json.encode(dict(sorted(dims.items())))
            keys.append((name, mtype, unit, raw))
            counts.append(len(pts_))
            for dt, v in pts_:
                times.append(now_ns + dt * NS)
                values.append(v)
                points.append(WirePoint(name, v, now_ns + dt * NS, mtype, unit, msgspec.Raw(raw)) if v - v == 0.0
                              else None)
        rejected = [Rejected(i, "value: not finite") for i, p in enumerate(points) if p is None]
        for _ in range(2 if warm else 1):
            svc.store.points.clear()
            try:
                if way == "columns":
                    result = svc.ingest_columns(keys, counts, times, values, now_ns=now_ns)
                else:
                    result = svc.ingest_points(list(points), list(rejected), now_ns=now_ns)
                got = (result.accepted, [r.index for r in result.rejected])
            except NoValidPointsError as exc:
                got = ("none", [r.index for r in exc.details])
        outcomes.append((got, sorted(svc.store.points, key=repr), sorted(svc.store.series)))
    assert outcomes[0] == outcomes[1]
