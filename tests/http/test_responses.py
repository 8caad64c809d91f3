"""Gzip bodies of several members: every member is stored, on every ingest route (issue 18, bug 1).

Several members are valid gzip (`cat a.gz b.gz`, some streaming clients); before the fix
only the first was decoded and the rest acknowledged and dropped. Trailing garbage and a
truncated stream are refused, never half-stored.
"""

from __future__ import annotations

import gzip
import json
import time

import pytest


def members(*parts: bytes) -> bytes:
    return b"".join(gzip.compress(p) for p in parts)


def count(api, name: str, **dims) -> int:
    params = {"start": "-1h", "period": "1h", "stat": "count"}
    params.update({f"dim.{k}": v for k, v in dims.items()})
    r = api.get(f"/metrics/{name}", params=params)
    if r.status == 404:
        return 0
    assert r.status == 200, r
    return sum(p["count"] for g in r.json()["groups"] for p in g["datapoints"])


def post(api, path: str, body: bytes, ctype: str, method: str = "POST"):
    return api.request(method, path, body, headers={"Content-Type": ctype, "Content-Encoding": "gzip"})


def test_line_protocol_every_member_stored(api):
    r = post(api, "/write", members(b"gzm_lp,p=1 value=1\n", b"gzm_lp,p=2 value=2\n"), "text/plain")
    assert r.status == 204, r
    assert count(api, "gzm_lp", p="1") == 1
    assert count(api, "gzm_lp", p="2") == 1


def test_json_every_member_stored(api):
    now = int(time.time()) - 1
    one = json.dumps({"name": "gzm_js", "value": 1, "timestamp": now, "dimensions": {"p": "1"}}).encode()
    two = json.dumps({"name": "gzm_js", "value": 2, "timestamp": now, "dimensions": {"p": "2"}}).encode()
    # A JSON document split across two members: only the whole decoded body parses.
    a, b = b'{"metrics": [' + one + b",", two + b"]}"
    r = post(api, "/metrics", members(a, b), "application/json")
    assert r.status == 200, r
    assert r.json()["accepted"] == 2
    assert count(api, "gzm_js") == 2


def test_pushgateway_every_member_stored(api):
    r = post(api, "/metrics/job/gzm", members(b"gzm_push{p=\"1\"} 1\n", b"gzm_push{p=\"2\"} 2\n"),
             "text/plain", method="PUT")
    assert r.status == 200, r
    assert count(api, "gzm_push") == 2


def test_otlp_json_every_member_stored(api):
    now = time.time_ns()
    doc = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [{"name": "gzm_otlp", "gauge": {"dataPoints": [
        {"asDouble": 1.0, "timeUnixNano": str(now), "attributes": [{"key": "p", "value": {"stringValue": "1"}}]},
        {"asDouble": 2.0, "timeUnixNano": str(now), "attributes": [{"key": "p", "value": {"stringValue": "2"}}]},
    ]}}]}]}]}
    raw = json.dumps(doc).encode()
    half = len(raw) // 2
    r = post(api, "/v1/metrics", members(raw[:half], raw[half:]), "application/json")
    assert r.status == 200, r
    assert count(api, "gzm_otlp") == 2


def test_zero_padding_after_last_member_is_accepted(api):
    r = post(api, "/write", gzip.compress(b"gzm_pad,p=1 value=1\n") + b"\0" * 16, "text/plain")
    assert r.status == 204, r
    assert count(api, "gzm_pad") == 1


@pytest.mark.parametrize("tail", [b"garbage", b"\x1f\x8bnot-a-member"])
def test_trailing_garbage_is_400_and_nothing_stored(api, tail):
    name = f"gzm_tail_{len(tail)}"
    r = post(api, "/write", gzip.compress(f"{name},p=1 value=1\n".encode()) + tail, "text/plain")
    assert r.status == 400, r
    assert "gzip" in r.json()["message"]
    assert count(api, name) == 0


def test_truncated_stream_is_400_and_nothing_stored(api):
    body = gzip.compress(b"gzm_trunc,p=1 value=1\ngzm_trunc,p=2 value=2\n")
    r = post(api, "/write", body[:-6], "text/plain")
    assert r.status == 400, r
    assert "truncated" in r.json()["message"]
    assert count(api, "gzm_trunc") == 0
