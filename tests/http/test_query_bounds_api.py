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
