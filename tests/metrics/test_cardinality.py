"""Series limits at ingest and the cardinality view, over the SQLite store."""

from __future__ import annotations

import time

import pytest

from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.errors import InvalidInputError
from weir.metrics.cardinality import SeriesBudget, SeriesLimits, parse_limit, tsdb_status
from weir.metrics.ingest import IngestService
from weir.wire.json import ingest_json

NOW = int(time.time()) - 60


@pytest.fixture
def store(tmp_path):
    s = SqliteMetricStore(tmp_path / "m.db", retention_seconds=86_400)
    yield s
    s.close()


def points(name, hosts, **extra):
    return {"metrics": [{"name": name, "value": 1.0, "timestamp": NOW, "dimensions": {"host": h, **extra}}
                        for h in hosts]}


def test_points_beyond_the_series_limit_of_a_metric_are_rejected_naming_it(store):
    clock = [0.0]
    ingest = IngestService(store, budget=SeriesBudget(store.metric_names, SeriesLimits(5, 100), lambda: clock[0]))
    import json

    first = ingest_json(ingest, json.dumps(points("cpu", [f"h{i}" for i in range(4)])))
    assert first.accepted == 4
    more = ingest_json(ingest, json.dumps(points("cpu", [f"h{i}" for i in range(8)])))
    assert more.accepted == 5  # the 4 known series and one new one
    assert len(more.rejected) == 3
    assert all("--max-series-per-metric 5" in r.error and "cpu" in r.error for r in more.rejected)
    assert ingest_json(ingest, json.dumps(points("cpu", ["h0", "h1"]))).accepted == 2  # known: always taken
    assert ingest_json(ingest, json.dumps(points("mem", ["a"]))).accepted == 1  # another metric has room
    assert store.metric_names() == {"cpu": 5, "mem": 1}
    clock[0] += 60  # the counts are read again from the store: still full
    again = IngestService(store, budget=SeriesBudget(store.metric_names, SeriesLimits(5, 100), lambda: clock[0]))
    with pytest.raises(InvalidInputError, match="series limit"):
        ingest_json(again, json.dumps(points("cpu", ["new"])))


def test_the_total_series_limit(store):
    import json

    ingest = IngestService(store, budget=SeriesBudget(store.metric_names, SeriesLimits(100, 3)))
    both = points("a", ["1", "2"])["metrics"] + points("b", ["1", "2"])["metrics"]
    got = ingest_json(ingest, json.dumps({"metrics": both}))
    assert got.accepted == 3 and "--max-series 3" in got.rejected[0].error


def test_tsdb_status_has_prometheus_shape_and_counts(store):
    import json

    import msgspec

    ingest_json(IngestService(store), json.dumps({"metrics": points("cpu", ["a", "b", "c"], dc="x")["metrics"]
                                                 + points("mem", ["a"], dc="y")["metrics"]}))
    doc = msgspec.to_builtins(tsdb_status(store, limit=3))
    assert doc["status"] == "success"
    data = doc["data"]
    assert set(data) == {"headStats", "seriesCountByMetricName", "labelValueCountByLabelName",
                         "memoryInBytesByLabelName", "seriesCountByLabelValuePair"}
    assert data["headStats"]["numSeries"] == 4
    assert data["seriesCountByMetricName"] == [{"name": "cpu", "value": 3}, {"name": "mem", "value": 1}]
    assert data["labelValueCountByLabelName"] == [{"name": "host", "value": 3}, {"name": "__name__", "value": 2},
                                                  {"name": "dc", "value": 2}]
    assert data["seriesCountByLabelValuePair"][0] == {"name": "__name__=cpu", "value": 3}
    assert {"name": "dc=x", "value": 3} in data["seriesCountByLabelValuePair"]
    assert {"name": "host", "value": 3} in data["memoryInBytesByLabelName"]
    assert set(data["headStats"]) == {"numSeries", "numLabelPairs", "chunkCount", "minTime", "maxTime"}


@pytest.mark.parametrize("text", ["0", "x", "9" * 20, "10001"])
def test_limit_parameter(text):
    with pytest.raises(InvalidInputError, match="^limit"):
        parse_limit(text)
