"""IngestService over a real (temporary) SQLite store."""

from __future__ import annotations

import json
import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.ingest import IngestService, NoValidPointsError
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
