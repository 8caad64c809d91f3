"""The metrics API over a real loopback socket against `weir serve`."""

from __future__ import annotations

import json
import time

import pytest

from weir.metrics import limits

# Collection time: fine for instants only compared with each other or with limits that are
# hours or days wide. A query relative to the server's clock ("-5m") takes `now` instead,
# since this module may run minutes after it was imported.
NOW = int(time.time())


@pytest.fixture
def now() -> int:
    """The test's own present, a second back, so no point is ahead of the server's clock."""
    return int(time.time()) - 1


def point(name="cpu", value=1.0, ts=None, **dims):
    p = {"name": name, "value": value, "timestamp": NOW if ts is None else ts}
    if dims:
        p["dimensions"] = dims
    return p


def test_health(api):
    r = api.get("/health")
    assert r.status == 200
    assert r.json()["status"] == "ok"
    assert r.json()["backend"] == "sqlite"


def test_single_point_and_query_back(api, now):
    r = api.post("/metrics", {"name": "single_a", "value": 42.5, "timestamp": now, "dimensions": {"host": "a"}})
    assert r.status == 200, r
    assert r.json() == {"accepted": 1, "rejected": []}
    q = api.get("/metrics/single_a", params={"start": "-5m", "stat": "count,max"}).json()
    [group] = q["groups"]
    assert group["datapoints"][0]["count"] == 1
    assert group["datapoints"][0]["max"] == 42.5


def test_seed_shape_single_point(api):
    r = api.post("/metrics", {"metric_name": "seed_shape", "value": 3, "metric_type": "counter", "timestamp": NOW})
    assert r.status == 200, r
    [s] = api.get("/metrics/seed_shape/series").json()["series"]
    assert s["type"] == "counter"


def test_partial_success_keeps_valid_points(api, now):
    body = {"metrics": [point("partial", 1.0, ts=now - 1), {"name": "partial", "value": "x"}, point("bad name", 2.0),
                        point("partial", 3.0, ts=now)]}
    r = api.post("/metrics", body)
    assert r.status == 200, r
    out = r.json()
    assert out["accepted"] == 2
    assert [x["index"] for x in out["rejected"]] == [1, 2]
    assert "value" in out["rejected"][0]["error"]
    assert "name" in out["rejected"][1]["error"]
    q = api.get("/metrics/partial", params={"start": "-5m", "stat": "count,sum"}).json()
    assert sum(p["count"] for p in q["groups"][0]["datapoints"]) == 2


def test_no_valid_point_is_400_and_nothing_written(api):
    r = api.post("/metrics", {"metrics": [{"name": "nothing_valid", "value": "x"}, point("", 1.0)]})
    assert r.status == 400
    body = r.json()
    assert body["error"] == "invalid_input"
    assert len(body["rejected"]) == 2
    assert api.get("/metrics/nothing_valid").status == 404


@pytest.mark.parametrize(
    "body, fragment",
    [
        ('{"metrics": [', "not valid JSON"),
        ('{"name": "x", "value": NaN}', "not valid JSON"),
        ('{"name": "x", "value": 1e999}', "value"),
        ('{"name": "x", "value": true}', "value"),
        ('{"name": "", "value": 1}', "name"),
        ('{"name": "x", "value": 1, "timestamp": "2026-01-01T00:00:00"}', "timestamp"),
        ('{"name": "x", "value": 1, "type": "histogram"}', "type"),
        ('{"name": "x", "value": 1, "colour": "red"}', "colour"),
        ('{"metrics": []}', "empty"),
        ('[]', "expected object"),
    ],
)
def test_bad_bodies_get_precise_400(api, body, fragment):
    r = api.request("POST", "/metrics", body, headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert fragment in r.json()["message"], r.json()


def test_too_many_dimensions(api):
    dims = {f"k{i}": "v" for i in range(limits.MAX_DIMENSIONS + 1)}
    r = api.post("/metrics", point("dims", 1.0, **dims))
    assert r.status == 400
    assert "dimensions" in r.json()["message"]


@pytest.mark.parametrize("ts", [NOW - 40 * 86400, NOW + 3600, -5])
def test_timestamps_out_of_range(api, ts):
    r = api.post("/metrics", point("ts_range", 1.0, ts=ts))
    assert r.status == 400
    assert "timestamp" in r.json()["message"]


RFC3339_NOW = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(NOW))


@pytest.mark.parametrize("ts", [NOW, NOW * 1000, NOW * 1_000_000_000, RFC3339_NOW])
def test_timestamp_units_land_on_the_same_instant(api, ts):
    r = api.post("/metrics", point("units", 7.0, ts=ts))
    assert r.status == 200, r
    # Same series and instant: each write replaces the last, so there is one point in the
    # whole day before NOW and the future the API accepts (wherever NOW is in its hour).
    q = api.get("/metrics/units", params={"start": str(NOW - 86400), "end": str(NOW + limits.MAX_FUTURE_SECONDS + 1),
                                          "stat": "count", "period": "1h"}).json()
    assert sum(p["count"] for p in q["groups"][0]["datapoints"]) == 1


def test_type_conflict_rejected(api):
    assert api.post("/metrics", point("typed", 1.0)).status == 200
    r = api.post("/metrics", {**point("typed", 1.0), "type": "counter"})
    assert r.status == 400
    assert "gauge" in r.json()["message"]


def test_too_many_points_is_413(api):
    body = {"metrics": [point("many", float(i), ts=NOW) for i in range(limits.MAX_POINTS_PER_REQUEST + 1)]}
    r = api.post("/metrics", body)
    assert r.status == 413
    assert str(limits.MAX_POINTS_PER_REQUEST) in r.json()["message"]


def test_oversized_body_is_413(api):
    big = b'{"name": "x", "value": 1, "unit": "' + b"a" * (limits.MAX_BODY_BYTES + 10) + b'"}'
    r = api.request("POST", "/metrics", big, headers={"Content-Type": "application/json"})
    assert r.status == 413


def test_gzip_bomb_is_413(api):
    body = b'{"metrics": [' + b" " * (limits.MAX_BODY_BYTES + 10) + b"]}"
    r = api.request("POST", "/metrics", body, headers={"Content-Type": "application/json"}, gzip=True)
    assert r.status == 413


def test_gzip_body_accepted(api):
    r = api.request("POST", "/metrics", json.dumps(point("zipped", 1.0)), gzip=True,
                    headers={"Content-Type": "application/json"})
    assert r.status == 200, r


def test_wrong_content_type_is_415(api):
    r = api.request("POST", "/metrics", json.dumps(point()), headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert "application/json" in r.json()["message"]


def test_list_metrics_and_series_filters(api):
    pts = [point("listed", 1.0, host=f"h{i}", region=f"r{i % 2}") for i in range(4)]
    assert api.post("/metrics", {"metrics": pts}).status == 200
    names = {m["name"]: m["series"] for m in api.get("/metrics").json()["metrics"]}
    assert names["listed"] == 4
    r = api.get("/metrics/listed/series", params={"dim.region": "r1"}).json()
    assert [s["dimensions"]["host"] for s in r["series"]] == ["h1", "h3"]
    assert r["series"][0]["key"] == 'listed{host="h1",region="r1"}'


def test_query_stats_group_by_and_filters(api):
    base = (NOW - 600) // 60 * 60
    pts = []
    for i in range(6):
        for host, offset in (("a", 0.0), ("b", 100.0)):
            pts.append(point("q", offset + i, ts=base + i * 10, host=host))
    assert api.post("/metrics", {"metrics": pts}).status == 200
    params = {"start": str(base), "end": str(base + 60), "period": "60", "stat": "count,sum,avg,min,max,p50"}
    merged = api.get("/metrics/q", params=params).json()
    [g] = merged["groups"]
    assert g["series"] == 2
    [p] = g["datapoints"]
    assert p["count"] == 12 and p["min"] == 0 and p["max"] == 105 and p["sum"] == 15 + 615
    assert p["p50"] == pytest.approx((5 + 100) / 2)
    grouped = api.get("/metrics/q", params={**params, "group_by": "host"}).json()
    assert [(x["group"], x["datapoints"][0]["avg"]) for x in grouped["groups"]] == [
        ({"host": "a"}, 2.5), ({"host": "b"}, 102.5)]
    only_b = api.get("/metrics/q", params={**params, "dim.host": "b", "stat": "max"}).json()
    assert only_b["groups"][0]["datapoints"] == [{"timestamp": only_b["start"], "max": 105.0}]


def test_group_by_several_keys_last_and_negative_and_regex_filters(api):
    base = (NOW - 600) // 60 * 60
    hosts = [("web-1", "eu"), ("web-2", "eu"), ("db-1", "eu"), ("web-3", "us")]
    pts = [point("qa", float(10 * k + i), ts=base + i * 10, host=h, region=r)
           for k, (h, r) in enumerate(hosts) for i in range(3)]
    assert api.post("/metrics", {"metrics": pts}).status == 200
    params = {"start": str(base), "end": str(base + 60), "period": "60", "stat": "count,last"}
    got = api.get("/metrics/qa", params={**params, "group_by": "region,host"}).json()
    assert [(g["group"], g["datapoints"][0]["last"]) for g in got["groups"]] == [
        ({"region": "eu", "host": "db-1"}, 22.0), ({"region": "eu", "host": "web-1"}, 2.0),
        ({"region": "eu", "host": "web-2"}, 12.0), ({"region": "us", "host": "web-3"}, 32.0)]
    assert got["resolutions"] == [{"start": got["start"], "end": got["end"], "resolution": "raw"}]

    def series_of(**filters):
        r = api.get("/metrics/qa", params={**params, **filters}).json()
        return r["groups"][0]["series"] if r["groups"] else 0

    assert series_of(**{"dim.host": "~web-.*"}) == 3  # dim.host=~web-.*
    assert series_of(**{"dim.host!": "~web-.*"}) == 1  # dim.host!~web-.*
    assert series_of(**{"dim.region!": "eu"}) == 1  # dim.region!=eu
    assert series_of(**{"dim.host": "~web-[12]", "dim.region": "eu"}) == 2
    assert series_of(**{"dim.host": "~web"}) == 0  # a regex matches the whole value
    raw = api.get("/metrics/qa?" + "&".join(f"{k}={v}" for k, v in params.items()) + "&dim.host!=db-1")
    assert raw.json()["groups"][0]["series"] == 3


def test_a_repeated_query_parameter_is_400_not_the_last_one(api):
    api.post("/metrics", point("rep", 1.0))
    r = api.get("/metrics/rep", params=[("stat", "avg"), ("stat", "max")])
    assert r.status == 400 and r.json()["message"].startswith("stat: given 2 times")
    r = api.get("/metrics/rep/series", params=[("dim.host", "a"), ("dim.host", "b")])
    assert r.status == 400


@pytest.mark.parametrize(
    "params, fragment",
    [
        ({"stat": "median"}, "stat"),
        ({"dim.host": "~(a+)+"}, "dim.host"),
        ({"dim.host": "~[z-a]"}, "dim.host"),
        ({"group_by": "a,b,c,d,e,f,g,h,i,j,k"}, "group_by"),
        ({"period": "5x"}, "period"),
        ({"period": "0"}, "period"),
        ({"start": "yesterday"}, "start"),
        ({"start": "-1h", "end": "-2h"}, "end"),
        ({"period": "1s", "start": "-30d"}, "period"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_query_params(api, params, fragment):
    api.post("/metrics", point("badq", 1.0))
    r = api.get("/metrics/badq", params=params)
    assert r.status == 400, r
    assert r.json()["message"].startswith(fragment), r.json()


def test_unknown_metric_and_route_are_404_json(api):
    r = api.get("/metrics/never_written")
    assert r.status == 404 and "never_written" in r.json()["message"]
    r = api.get("/nowhere")
    assert r.status == 404 and r.json()["error"] == "not_found"


def test_openapi_document(api):
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert {"/metrics", "/metrics/{name}", "/metrics/{name}/series", "/health"} <= set(doc["paths"])
    assert "Datapoint" in doc["components"]["schemas"]


@pytest.mark.parametrize("path, params, status, fragment", [
    ("/metrics/cpu", {"period": "²"}, 400, "period"),  # str.isdigit() takes superscripts; int() does not
    ("/metrics/cpu", {"start": "¹²³"}, 400, "start"),
    ("/alerts/events", {"limit": "³"}, 400, "limit"),
    ("/alerts/%0A", None, 404, "control characters"),  # `$` in a route pattern matches before a newline
    ("/files/a%0Ab", None, 404, "control characters"),
])
def test_unicode_digits_and_control_characters_are_4xx_not_500s_or_other_routes(api, path, params, status, fragment):
    r = api.get(path, params=params)
    assert r.status == status, (r.status, r.body)
    assert fragment in r.json()["message"]
