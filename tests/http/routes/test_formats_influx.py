"""InfluxDB line protocol over loopback: the real `influxdb-client`, then queried back through Weir."""

from __future__ import annotations

import time

import pytest
from influxdb_client import InfluxDBClient, Point, WritePrecision
from influxdb_client.client.write_api import SYNCHRONOUS
from influxdb_client.rest import ApiException

NOW = int(time.time())


def stats(api, name, **dims):
    params = {"start": "-1h", "period": "1h", "stat": "count,sum,max"}
    params.update({f"dim.{k}": v for k, v in dims.items()})
    r = api.get(f"/metrics/{name}", params=params)
    assert r.status == 200, r
    points = [p for g in r.json()["groups"] for p in g["datapoints"]]
    return {"count": sum(p["count"] for p in points), "sum": sum(p["sum"] for p in points),
            "max": max((p["max"] for p in points), default=None)}


@pytest.fixture
def influx(server):
    with InfluxDBClient(url=server.url, token="unused", org="weir", timeout=30_000) as client:
        yield client.write_api(write_options=SYNCHRONOUS)


def test_influxdb_client_points_query_back(api, influx):
    t = time.time_ns()
    influx.write("bucket", "weir", [
        Point("ic_cpu").tag("host", "web 1").tag("region", "eu,west").field("usage", 0.5).field("cores", 8)
        .field("up", True).time(t, WritePrecision.NS),
        Point("ic_cpu").tag("host", "web 2").tag("region", "eu,west").field("usage", 1.5).time(t, WritePrecision.NS),
        Point("ic_temp").tag("room", "a=b").field("value", 21.25).time(t // 10**9, WritePrecision.S),
    ], write_precision=WritePrecision.NS)
    assert stats(api, "ic_cpu.usage") == {"count": 2, "sum": 2.0, "max": 1.5}
    assert stats(api, "ic_cpu.cores", host="web 1") == {"count": 1, "sum": 8.0, "max": 8.0}
    assert stats(api, "ic_cpu.up")["sum"] == 1.0
    series = api.get("/metrics/ic_cpu.usage/series").json()["series"]
    assert {s["dimensions"]["host"] for s in series} == {"web 1", "web 2"}
    assert {s["dimensions"]["region"] for s in series} == {"eu,west"}
    # A field called `value` is stored under the measurement's own name.
    [s] = api.get("/metrics/ic_temp/series").json()["series"]
    assert s["dimensions"] == {"room": "a=b"}


@pytest.mark.parametrize("precision, ts", [
    (WritePrecision.S, NOW), (WritePrecision.MS, NOW * 1000), (WritePrecision.US, NOW * 10**6),
    (WritePrecision.NS, NOW * 10**9),
])
def test_precisions_land_on_the_same_instant(api, influx, precision, ts):
    name = f"ic_prec_{precision}"
    influx.write("b", "weir", f"{name},host=a value=1 {ts}", write_precision=precision)
    q = api.get(f"/metrics/{name}", params={"start": str(NOW), "end": str(NOW + 1), "period": "1s",
                                           "stat": "count"}).json()
    assert q["groups"][0]["datapoints"] == [{"timestamp": q["start"], "count": 1}]


def test_gzip_and_line_protocol_records(server, api):
    with InfluxDBClient(url=server.url, token="x", org="weir", enable_gzip=True) as client:
        client.write_api(write_options=SYNCHRONOUS).write("b", "weir", [
            f"ic_gz,host=h{i} value={i}i {NOW}" for i in range(50)
        ], write_precision=WritePrecision.S)
    assert stats(api, "ic_gz")["count"] == 50


def test_partial_write_is_400_and_keeps_valid_points(api, influx):
    body = "\n".join([
        f"ic_partial,host=a value=1 {NOW}",
        f'ic_partial,host=b value="text" {NOW}',
        f"ic_partial,host=c value=2 {NOW}",
        "this is not line protocol",
    ])
    with pytest.raises(ApiException) as info:
        influx.write("b", "weir", body, write_precision=WritePrecision.S)
    assert info.value.status == 400
    assert "partial write" in info.value.body
    assert stats(api, "ic_partial")["count"] == 2
    r = api.post("/write", params={"db": "x", "precision": "s"}, body=body)
    out = r.json()
    assert r.status == 400 and out["error"] == "partial_write" and out["accepted"] == 2
    assert [x["error"].split(":")[0] for x in out["rejected"]] == ["line 2", "line 4"]
    assert "string" in out["rejected"][0]["error"]


def test_v1_write_no_timestamp_and_204(api):
    r = api.post("/write", params={"db": "telegraf"}, body="ic_v1,host=a value=3\nic_v1,host=b value=4\n",
                 headers={"Content-Type": "text/plain; charset=utf-8"})
    assert r.status == 204, r
    assert r.body == b""
    assert stats(api, "ic_v1")["sum"] == 7.0


def test_ingest_rules_apply_per_point(api):
    body = "\n".join([
        f"ic_rules,host=a value=1 {NOW - 40 * 86400}",  # older than the retention
        f"ic_rules,host=a value=1 {NOW + 3600}",  # too far ahead
        f"9bad value=1 {NOW}",  # not a Weir metric name
        f"ic_rules,host=a value=5 {NOW}",
    ])
    out = api.post("/write", params={"precision": "s"}, body=body).json()
    assert out["accepted"] == 1
    errors = [x["error"] for x in out["rejected"]]
    assert errors[0].startswith("line 1: timestamp") and "retention" in errors[0]
    assert errors[1].startswith("line 2: timestamp") and "future" in errors[1]
    assert errors[2].startswith("line 3: name")


@pytest.mark.parametrize("params, body, status, fragment", [
    ({"precision": "fortnight"}, "m value=1", 400, "precision"),
    ({"database": "x"}, "m value=1", 400, "unknown query parameter"),
    ({}, "", 400, "empty"),
    ({}, "# only a comment\n\n", 400, "no line protocol"),
    ({}, "m", 400, "missing fields"),
    ({}, 'm value="x"', 400, "string"),
    ({}, "m value=1 notatime", 400, "timestamp"),
    ({}, "m value=nan", 400, "finite"),
])
def test_malformed_input_is_a_clear_4xx(api, params, body, status, fragment):
    r = api.post("/api/v2/write", params=params, body=body)
    assert r.status == status, r
    assert fragment in r.json()["message"], r.json()


def test_point_limit_counts_fields(api):
    body = "\n".join(f"ic_many,host=h{i} a=1,b=2 {NOW}" for i in range(5_001))
    r = api.post("/write", params={"precision": "s"}, body=body)
    assert r.status == 413
    assert "10000" in r.json()["message"]


def test_influxdb_client_ping_version_and_health(server):
    """Telegraf and influxdb-client probe /ping (204 with X-Influxdb-Version) and /health."""
    import warnings

    from weir import __version__

    with InfluxDBClient(url=server.url, token="unused", org="weir", timeout=30_000) as client:
        assert client.ping() is True
        assert client.version() == f"1.8-weir-{__version__}"
        assert client.build() == "OSS"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # health() is deprecated in favour of ping()
            health = client.health()
    assert (health.name, health.status, health.version) == ("weir", "ok", __version__)


def test_ping_answers_head_and_needs_no_key(server, api):
    r = api.request("HEAD", "/ping")
    assert r.status == 204 and r.body == b"" and r.headers["x-influxdb-version"].startswith("1.8-weir-")
