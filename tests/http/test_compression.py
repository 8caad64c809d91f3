"""`weir serve` gzips JSON answers above 1 KB for clients that send `Accept-Encoding: gzip`
(Prometheus' HTTP API does, and Grafana, promtool and vmalert ask for it), with `Vary:
Accept-Encoding`; the decompressed body is the answer a client without gzip gets, byte for
byte. Checked over a real `weir serve`, with curl-like raw requests and with promtool and
prometheus-api-client, which decompress on their own."""

from __future__ import annotations

import gzip
import json
import subprocess
import time
import urllib.parse

import pytest

from tests.peers import need
from weir.http import compression

BASE = (int(time.time()) // 3600 - 3) * 3600  # whole hours, 3-4 hours ago: nothing moves under a query
STEP, N, HOSTS = 15, 240, 20
GZIP = {"Accept-Encoding": "gzip"}


@pytest.mark.parametrize("value, accepted", [
    ("gzip", True), ("gzip, deflate, br", True), ("GZIP;q=0.5", True), ("x-gzip", True), ("*", True),
    ("deflate, br", False), ("gzip;q=0", False), ("gzip;q=0, *", False), ("*;q=0", False), ("identity", False),
    ("", False), (None, False), ("gzip;q=bad", False), ("br;q=1, gzip ; q=0.001", True),
])
def test_accept_encoding_is_read_with_its_q_values(value, accepted):
    assert compression.accepts_gzip(value) is accepted


@pytest.mark.parametrize("ctype, encoding, size, worth", [
    ("application/json", None, 1024, True), ("application/json; charset=utf-8", "", 5000, True),
    ("application/problem+json", None, 2000, True), ("application/json", None, 1023, False),
    ("application/json", "gzip", 5000, False), ("application/x-protobuf", None, 5000, False),
    ("text/html", None, 50_000, False), (None, None, 5000, False),
])
def test_only_json_answers_of_a_kilobyte_or_more_are_compressed(ctype, encoding, size, worth):
    assert compression.worth_compressing(ctype, encoding, size) is worth


def test_gzip_makes_one_member_that_gunzips_to_the_payload():
    payload = json.dumps({"values": list(range(5000))}).encode()
    packed = compression.gzip(payload)
    assert packed[:2] == b"\x1f\x8b" and gzip.decompress(packed) == payload and len(packed) < len(payload) / 2


def pod(h: int) -> str:
    return f"gz-deployment-5f7d8c9b6-{h:02d}-" + "abcdefghijklmnopqrstuvwxyz"[h:] + "0123456789"


@pytest.fixture(scope="module")
def loaded(server):
    pts = [{"name": "gz_cpu", "value": (h * 7 + j) % 100 / 4, "timestamp": BASE + STEP * j,
            "dimensions": {"host": f"web-{h:02d}", "region": f"r{h % 3}", "pod": pod(h)}}
           for j in range(N) for h in range(HOSTS)]
    for i in range(0, len(pts), 5000):
        r = server.http.post("/metrics", {"metrics": pts[i: i + 5000]})
        assert r.status == 200 and not r.json()["rejected"], r
    return server


RANGE = {"query": "gz_cpu", "start": str(BASE), "end": str(BASE + STEP * (N - 1)), "step": "60"}
ROUTES = [
    ("GET", "/api/v1/query_range", RANGE),
    ("GET", "/api/v1/query", {"query": "gz_cpu", "time": str(BASE + 600)}),
    ("GET", "/api/v1/series", {"match[]": "gz_cpu"}),
    ("GET", "/api/v1/label/pod/values", {}),
    ("GET", "/metrics/gz_cpu", {"start": str(BASE), "end": str(BASE + 3600), "period": "5m", "stat": "avg,max",
                                "group_by": "host"}),
    ("GET", "/metrics/gz_cpu/series", {}),
    ("GET", "/openapi.json", {}),
]


@pytest.mark.parametrize("method, path, params", ROUTES, ids=[r[1] for r in ROUTES])
def test_json_answers_are_gzipped_for_clients_that_accept_it(loaded, method, path, params):
    plain = loaded.http.request(method, path, params=params)
    packed = loaded.http.request(method, path, params=params, headers=GZIP)
    assert plain.status == packed.status == 200, (plain, packed)
    assert len(plain.body) >= compression.MIN_BYTES, "the test's answers must be large enough to compress"
    assert "content-encoding" not in plain.headers and plain.headers["vary"] == "Accept-Encoding"
    assert packed.headers["content-encoding"] == "gzip" and packed.headers["vary"] == "Accept-Encoding"
    assert packed.headers["content-type"].startswith("application/json")
    assert gzip.decompress(packed.body) == plain.body
    assert len(packed.body) < len(plain.body) / 2


def test_a_form_post_as_grafana_sends_it_is_gzipped(loaded):
    form = urllib.parse.urlencode(RANGE)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept-Encoding": "gzip, deflate, br"}
    r = loaded.http.request("POST", "/api/v1/query_range", form, headers=headers)
    assert r.status == 200 and r.headers["content-encoding"] == "gzip", r
    result = json.loads(gzip.decompress(r.body))["data"]["result"]
    assert len(result) == HOSTS and all(len(s["values"]) == 60 for s in result)


def test_small_answers_refusals_and_errors_stay_plain(loaded):
    small = loaded.http.get("/health", headers=GZIP)
    assert small.status == 200 and "content-encoding" not in small.headers and small.json()["status"] == "ok"
    refused = loaded.http.get("/api/v1/series", params={"match[]": "gz_cpu"},
                              headers={"Accept-Encoding": "gzip;q=0, *"})
    assert "content-encoding" not in refused.headers and len(refused.json()["data"]) == HOSTS
    error = loaded.http.get("/api/v1/query", params={"query": "sum(("}, headers=GZIP)
    assert error.status == 400 and error.json()["errorType"] == "bad_data"  # a short error: as it is


def test_promtool_reads_a_gzipped_range_answer(loaded):
    """Go's HTTP client asks for gzip and decompresses on its own, as Grafana's does."""
    out = subprocess.run([need("promtool"), "query", "range", "-o", "json", loaded.url, "gz_cpu",
                          f"--start={BASE}", f"--end={BASE + STEP * (N - 1)}", "--step=60s"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    plain = loaded.http.get("/api/v1/query_range", params=RANGE).json()["data"]["result"]
    assert len(got) == HOSTS
    assert {s["metric"]["host"]: [[float(t), v] for t, v in s["values"]] for s in got} == \
        {s["metric"]["host"]: [[float(t), v] for t, v in s["values"]] for s in plain}


def test_prometheus_api_client_reads_a_gzipped_answer(loaded):
    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=loaded.url, disable_ssl=True)
    sent = client._session.get(f"{loaded.url}/api/v1/series", params={"match[]": "gz_cpu"})
    assert sent.request.headers["Accept-Encoding"].startswith("gzip") and sent.headers["Content-Encoding"] == "gzip"
    data = client.custom_query_range("gz_cpu", start_time=_dt(BASE), end_time=_dt(BASE + STEP * (N - 1)), step="60")
    assert len(data) == HOSTS and {s["metric"]["host"] for s in data} == {f"web-{h:02d}" for h in range(HOSTS)}


def _dt(seconds: int):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, tz=UTC)
