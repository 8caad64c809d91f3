"""The cardinality view and the series limits over a real `weir serve`, on both backends
(SQLite, and DynamoDB on moto) (issue 18, bug 5)."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.helpers import WeirProcess


@pytest.fixture(params=["sqlite", "dynamodb"])
def limited(request, tmp_path):
    """A server that takes at most 4 series per metric and 6 in all."""
    limits = ("--max-series-per-metric", "4", "--max-series", "6")
    if request.param == "sqlite":
        proc = WeirProcess(tmp_path / "data", *limits)
    else:
        endpoint = request.getfixturevalue("aws_env")
        suffix = uuid.uuid4().hex[:8]
        proc = WeirProcess(tmp_path / "unused", "--backend", "aws", "--endpoint-url", endpoint, "--create-tables",
                           "--metrics-table", f"card-m-{suffix}", "--series-table", f"card-s-{suffix}", *limits)
    proc.start(timeout=60)
    yield proc
    proc.stop()


def points(name: str, hosts: list[str], **dims) -> dict:
    now = int(time.time()) - 5
    return {"metrics": [{"name": name, "value": 1.0, "timestamp": now, "dimensions": {"host": h, **dims}}
                        for h in hosts]}


def test_series_limits_reject_new_series_naming_the_limit(limited):
    api = limited.http
    r = api.post("/metrics", points("cpu", ["a", "b", "c", "d", "e", "f"]))
    assert r.status == 200, r
    assert r.json()["accepted"] == 4
    assert [x["index"] for x in r.json()["rejected"]] == [4, 5]
    assert all("--max-series-per-metric 4" in x["error"] for x in r.json()["rejected"])
    assert api.post("/metrics", points("cpu", ["a", "b"])).json()["accepted"] == 2  # known series: taken
    r = api.post("/metrics", points("mem", ["a", "b", "c"]))
    assert r.json()["accepted"] == 2 and "--max-series 6" in r.json()["rejected"][0]["error"]
    r = api.request("POST", "/write", body="disk,host=z value=1\n")  # every wire format: the same check
    assert r.status == 400 and "--max-series 6" in r.json()["message"]
    assert api.get("/metrics").json() == {"metrics": [{"name": "cpu", "series": 4}, {"name": "mem", "series": 2}]}


def test_tsdb_status_in_prometheus_shape(limited):
    api = limited.http
    assert api.post("/metrics", points("cpu", ["a", "b", "c"], dc="x")).status == 200
    assert api.post("/metrics", points("mem", ["a"], dc="y")).status == 200
    r = api.get("/api/v1/status/tsdb", params={"limit": "2"})
    assert r.status == 200, r
    doc = r.json()
    assert doc["status"] == "success"
    data = doc["data"]
    assert data["headStats"]["numSeries"] == 4
    assert data["seriesCountByMetricName"] == [{"name": "cpu", "value": 3}, {"name": "mem", "value": 1}]
    assert data["labelValueCountByLabelName"] == [{"name": "host", "value": 3}, {"name": "__name__", "value": 2}]
    assert data["seriesCountByLabelValuePair"] == [{"name": "__name__=cpu", "value": 3}, {"name": "dc=x", "value": 3}]
    assert {"name": "host", "value": 3} in data["memoryInBytesByLabelName"]
    assert api.get("/api/v1/status/tsdb", params={"limit": "0"}).status == 400
    assert api.get("/api/v1/status/tsdb", params={"x": "1"}).status == 400
