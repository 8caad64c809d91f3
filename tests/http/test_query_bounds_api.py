"""Query parameters at and past their bounds, over a real `weir serve`: every one is a 4xx
naming the parameter, never a 500 (issue 18)."""

from __future__ import annotations

import time

import pytest

T = (int(time.time()) // 3600 - 24) * 3600  # a whole hour a day back: inside the retention


@pytest.fixture(scope="module")
def written(server):
    r = server.http.post("/metrics", {"name": "bounds", "value": 1.0, "timestamp": T, "dimensions": {"h": "a"}})
    assert r.status == 200, r
    return server.http


@pytest.mark.parametrize("params, field", [
    # past the 64-bit nanoseconds Weir stores (1677-09-21 .. 2262-04-11)
    ({"start": "2300-01-01T00:00:00Z", "end": "2300-01-02T00:00:00Z", "period": "1d"}, "start"),
    ({"start": "-1h", "end": "2300-01-02T00:00:00Z", "period": "1000w"}, "end"),
    ({"start": "0001-01-01T00:00:00Z", "end": "now", "period": "10000w"}, "start"),
    ({"start": "99999999999999999999", "end": "999999999999999999999"}, "start"),
    ({"start": "-" + "9" * 20 + "w"}, "start"),
    # times inside the range whose whole periods reach past it
    ({"start": "1677-09-21T12:00:00Z", "end": "1678-01-01T00:00:00Z", "period": "4w"}, "start"),
    ({"start": "2262-01-01T00:00:00Z", "end": "2262-04-11T00:00:00Z", "period": "4w"}, "end"),
    ({"period": "20000w"}, "period"),  # longer than 64-bit nanoseconds
    # more digits than Python's int() takes (4,300)
    ({"start": "9" * 5000}, "start"),
    ({"end": "1" * 4301}, "end"),
    ({"start": "-" + "9" * 5000 + "w"}, "start"),
    ({"period": "9" * 30}, "period"),
    ({"period": "9" * 5000}, "period"),
])
def test_times_outside_64_bit_nanoseconds_are_400s(written, params, field):
    r = written.get("/metrics/bounds", params=params)
    assert r.status == 400, (params, r)
    assert r.json()["error"] == "invalid_input"
    assert r.json()["message"].startswith(field), r.json()


def test_limit_with_thousands_of_digits_is_400(written):
    r = written.get("/alerts/events", params={"limit": "9" * 5000})
    assert r.status == 400, r
    assert r.json()["message"].startswith("limit"), r.json()


def test_the_edges_of_the_range_still_answer(written):
    r = written.get("/metrics/bounds", params={"start": "1680-01-01T00:00:00Z", "end": "2260-01-01T00:00:00Z",
                                                "period": "52w", "stat": "count"})
    assert r.status == 200, r
    assert sum(p["count"] for g in r.json()["groups"] for p in g["datapoints"]) == 1


def test_series_listings_page_with_a_cursor(written):
    api = written
    r = api.post("/metrics", {"metrics": [{"name": "paged", "value": 1.0, "timestamp": T,
                                           "dimensions": {"h": f"{i:02d}"}} for i in range(25)]})
    assert r.status == 200, r
    keys, cursor, pages = [], None, 0
    while True:
        params = {"limit": "10", **({"cursor": cursor} if cursor else {})}
        page = api.get("/metrics/paged/series", params=params).json()
        pages += 1
        keys += [s["key"] for s in page["series"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and keys == sorted(keys) and len(set(keys)) == 25
    filtered = api.get("/metrics/paged/series", params={"dim.h": "07"}).json()
    assert [s["key"] for s in filtered["series"]] == ['paged{h="07"}'] and filtered["next_cursor"] is None


@pytest.mark.parametrize("params, fragment", [
    ({"limit": "0"}, "limit"), ({"limit": "10001"}, "limit"), ({"cursor": "%%%"}, "cursor"),
])
def test_bad_listing_parameters_are_400s(written, params, fragment):
    r = written.get("/metrics/bounds/series", params=params)
    assert r.status == 400 and r.json()["message"].startswith(fragment), r


def test_an_answer_too_large_is_refused_with_422(written):
    """30 groups x 100,000 one-second periods: 3M values, past the 2M an answer may hold."""
    api = written
    api.post("/metrics", {"metrics": [{"name": "wide", "value": 1.0, "timestamp": T, "dimensions": {"h": str(i)}}
                                      for i in range(30)]})
    r = api.get("/metrics/wide", params={"start": str(T - 50_000), "end": str(T + 50_000), "period": "1",
                                         "group_by": "h"})
    assert r.status == 422, r
    assert r.json()["error"] == "query_too_large"
    assert "3000000 values (30 groups x 100000 periods" in r.json()["message"]
