"""`POST /api/v1/write` and `/api/v1/read` over loopback with our own encoder: the status
semantics of the specifications, the 2.0 answer headers, partial writes, limits, keys."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from tests.helpers import Http, WeirProcess
from weir.wire import pb
from weir.wire import remote_encode as enc
from weir.wire import remote_read as rr
from weir.wire import remote_write as rw

V1_HEADERS = {"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy",
              "X-Prometheus-Remote-Write-Version": "0.1.0"}
V2_HEADERS = {"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request",
              "Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "2.0.0"}
WRITTEN = "x-prometheus-remote-write-samples-written"
NOW_MS = (int(time.time()) // 60 - 10) * 60_000  # a whole minute, 10 minutes ago


def write(api, body: bytes, headers=V1_HEADERS, compress=True):
    return api.request("POST", "/api/v1/write", pb.snappy(body) if compress else body, headers=headers)


def read(api, queries, accepted=()):
    r = api.request("POST", "/api/v1/read", pb.snappy(enc.read_request(queries, accepted)),
                    headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"})
    if r.status != 200:
        return r, None
    assert r.headers["content-type"] == "application/x-protobuf" and r.headers["content-encoding"] == "snappy"
    return r, response_series(pb.unsnappy(r.body, 1 << 26))


def response_series(data: bytes) -> list[dict]:
    """ReadResponse → per query {canonical key: [(ts, value)]}, decoded by the write decoder
    (a QueryResult holds 1.0 TimeSeries)."""
    out = []
    for _, _, result in pb.fields(data):
        d = rw.Decoder().decode_v1(result)  # QueryResult.timeseries is field 1, as WriteRequest's
        out.append({e.text: d.samples_of(k) for k, e in enumerate(d.series)})
    return out


def stored(api, name, start_ms, end_ms):
    """{canonical key: [(ts ms, value)]} through remote read."""
    _, [got] = read(api, [(start_ms, end_ms, [("=", "__name__", name)])])
    return got


def test_v1_write_then_read_back_labels_intact(api):
    labels = {"__name__": "rwapi_temp", "room": "Salle de bain/2 étage", "sensor id": "x"}
    labels.pop("sensor id")  # a label name with a space is not a Prometheus label name
    body = enc.write_request_v1([(labels, [(NOW_MS, 20.5), (NOW_MS + 15_000, 0.0)])],
                                [("rwapi_temp", "gauge", "a temperature", "celsius")])
    r = write(api, body)
    assert r.status == 204 and WRITTEN not in r.headers, r
    assert stored(api, "rwapi_temp", NOW_MS, NOW_MS + 15_000) == {
        'rwapi_temp{room="Salle de bain/2 étage"}': [(NOW_MS, 20.5), (NOW_MS + 15_000, 0.0)]}
    [s] = api.get("/metrics/rwapi_temp/series").json()["series"]
    assert (s["type"], s["unit"], s["dimensions"]) == ("gauge", "celsius", {"room": "Salle de bain/2 étage"})
    # the duplicate rule: the same instant again replaces the value
    assert write(api, enc.write_request_v1([(labels, [(NOW_MS, 22.0)])])).status == 204
    assert stored(api, "rwapi_temp", NOW_MS, NOW_MS)['rwapi_temp{room="Salle de bain/2 étage"}'] == [(NOW_MS, 22.0)]


def test_v2_answer_headers_and_metadata(api):
    series = [enc.SeriesV2({"__name__": "rwapi_req_total", "path": "/a b"}, [(NOW_MS, 3.0), (NOW_MS + 1000, 4.0)],
                           type="counter", unit="requests", help="requests served",
                           exemplars=[({"trace_id": "abc"}, 1.0, NOW_MS)]),
              enc.SeriesV2({"__name__": "rwapi_queue_count"}, [(NOW_MS, 9.0)], type="gauge")]
    r = write(api, enc.write_request_v2(series), V2_HEADERS)
    assert r.status == 204, r
    assert (r.headers[WRITTEN], r.headers["x-prometheus-remote-write-histograms-written"],
            r.headers["x-prometheus-remote-write-exemplars-written"]) == ("3", "0", "0")
    types = {name: api.get(f"/metrics/{name}/series").json()["series"][0]["type"]
             for name in ("rwapi_req_total", "rwapi_queue_count")}
    assert types == {"rwapi_req_total": "counter", "rwapi_queue_count": "gauge"}  # metadata over names


def test_v2_start_timestamps_write_a_zero_once(api):
    start = NOW_MS - 30_000
    s = enc.SeriesV2({"__name__": "rwapi_started_total"}, [(NOW_MS, 5.0)], type="counter", start_ms=start)
    r = write(api, enc.write_request_v2([s]), V2_HEADERS)
    assert r.status == 204 and r.headers[WRITTEN] == "1"
    got = stored(api, "rwapi_started_total", start - 1, NOW_MS)
    assert got == {"rwapi_started_total": [(start, 0.0), (NOW_MS, 5.0)]}


def test_partial_writes_store_whole_valid_series_and_name_the_others(api):
    old = NOW_MS - 40 * 86_400_000  # beyond the 30-day retention
    items = [
        ({"__name__": "rwapi_part", "s": "good"}, [(NOW_MS, 1.0), (NOW_MS + 1000, 2.0)]),
        ({"__name__": "rwapi_part", "s": "half old"}, [(old, 1.0), (NOW_MS, 2.0)]),
        ({"__name__": "rwapi_part", "s": "nan"}, [(NOW_MS, 1.0), (NOW_MS + 1, float("nan"))]),
        ({"__name__": "rwapi_part", "s": "x\ny"}, [(NOW_MS, 1.0)]),
    ]
    for body, headers in ((enc.write_request_v1(items), V1_HEADERS),
                          (enc.write_request_v2([enc.SeriesV2(labels, s) for labels, s in items]), V2_HEADERS)):
        r = write(api, body, headers)
        assert r.status == 400, r
        err = r.json()
        assert err["error"] == "partial_write" and "3 series (5 samples)" in err["message"], err
        assert [x["index"] for x in err["rejected"]] == [1, 2, 3]
        assert "older than the retention" in err["rejected"][0]["error"]
        assert "finite" in err["rejected"][1]["error"] and "dimensions.s" in err["rejected"][2]["error"]
        if headers is V2_HEADERS:
            assert r.headers[WRITTEN] == "2"
    got = stored(api, "rwapi_part", old, NOW_MS + 1000)
    assert got == {'rwapi_part{s="good"}': [(NOW_MS, 1.0), (NOW_MS + 1000, 2.0)]}, "never half a series"


def test_unknown_messages_and_encodings_are_415(api):
    body = enc.write_request_v1([({"__name__": "rwapi_x"}, [(NOW_MS, 1.0)])])
    for ctype in ("application/x-protobuf;proto=io.prometheus.write.v3.Request", "application/json"):
        r = write(api, body, {**V1_HEADERS, "Content-Type": ctype})
        assert r.status == 415, r
        message = r.json()["message"]
        assert "io.prometheus.write.v2.Request" in message and "prometheus.WriteRequest" in message
    r = write(api, body, {**V1_HEADERS, "Content-Encoding": "gzip"})
    assert r.status == 415 and "snappy" in r.json()["message"]
    # no Content-Type at all, or the explicit 1.0 name: 1.0
    for ctype in ("", "application/x-protobuf; proto=prometheus.WriteRequest"):
        assert write(api, body, {**V1_HEADERS, "Content-Type": ctype}).status == 204


def test_malformed_bodies_are_400_and_bombs_413(api):
    assert write(api, b"not snappy at all", compress=False).status == 400
    assert write(api, b"\x0a\xff\xff\x01").status == 400  # a timeseries longer than the body
    bomb = bytearray()
    pb.put_varint(bomb, 1 << 36)
    r = write(api, bytes(bomb) + b"\x00" * 64, compress=False)
    assert r.status == 413 and "decompresses" in r.json()["message"]
    r = write(api, b"\x0a\xff\xff\x01", V2_HEADERS)
    assert r.status == 400 and r.headers[WRITTEN] == "0"


def test_remote_read_matchers_and_errors(api):
    body = enc.write_request_v1([({"__name__": "rwapi_rd", "host": h, "env": e}, [(NOW_MS, float(i))])
                                 for i, (h, e) in enumerate([("a", "prod"), ("b", "dev"), ("c", "")])])
    assert write(api, body).status == 204

    def hosts(*matchers):
        _, [got] = read(api, [(NOW_MS, NOW_MS, [("=", "__name__", "rwapi_rd"), *matchers])])
        return sorted(k.split('host="')[1][0] for k in got)

    assert hosts() == ["a", "b", "c"]
    assert hosts(("=", "env", "")) == ["c"]
    assert hosts(("!=", "env", "prod")) == ["b", "c"]
    assert hosts(("=~", "host", "a|b")) == ["a", "b"]
    assert hosts(("=~", "host", "a.")) == []  # fully anchored
    assert hosts(("!~", "env", "pr.*")) == ["b", "c"]
    _, [outside] = read(api, [(NOW_MS + 1, NOW_MS + 10, [("=", "__name__", "rwapi_rd")])])
    assert outside == {}
    _, two = read(api, [(NOW_MS, NOW_MS, [("=~", "__name__", "rwapi_r")]), (NOW_MS, NOW_MS, [("=", "host", "b")])],
                  accepted=[rr.STREAMED_XOR_CHUNKS, rr.SAMPLES])
    assert two[0] == {} and list(two[1]) == ['rwapi_rd{env="dev",host="b"}']
    r, _ = read(api, [(NOW_MS, NOW_MS, [("=", "__name__", "rwapi_rd")])], accepted=[rr.STREAMED_XOR_CHUNKS])
    assert r.status == 400 and "SAMPLES" in r.json()["message"]
    r, _ = read(api, [(NOW_MS, NOW_MS, [("=~", "host", "(")])])
    assert r.status == 400 and "regular expression" in r.json()["message"]
    r, _ = read(api, [(NOW_MS, NOW_MS, [("=~", "host", "(a+)+b")])])  # could backtrack exponentially
    assert r.status == 400 and "exponential" in r.json()["message"]
    r = api.request("POST", "/api/v1/read", b"\x01\x02", headers={"Content-Encoding": "snappy"})
    assert r.status == 400


def test_remote_read_is_a_read_for_open_reads(tmp_path):
    from weir.cli import main

    data = tmp_path / "data"
    assert CliRunner().invoke(main, ["keys", "add", "w", "--data-dir", str(data)]).exit_code == 0
    proc = WeirProcess(data, "--open-reads")
    proc.start()
    try:
        body = enc.write_request_v1([({"__name__": "rwapi_open"}, [(NOW_MS, 1.0)])])
        assert write(proc.http, body).status == 401, "writes still need the key"
        r, got = read(proc.http, [(NOW_MS, NOW_MS, [("=", "__name__", "rwapi_open")])])
        assert r.status == 200 and got == [{}]
    finally:
        proc.stop()


def test_keys_and_rate_limits_apply(tmp_path):
    from weir.cli import main

    data = tmp_path / "data"
    added = CliRunner().invoke(main, ["keys", "add", "prom", "--data-dir", str(data)])
    key = added.stdout.strip()
    proc = WeirProcess(data, "--rate-limit", "1")
    proc.start()
    try:
        body = enc.write_request_v1([({"__name__": "rwapi_keyed"}, [(NOW_MS, 1.0)])])
        assert write(proc.http, body).status == 401
        keyed = Http(proc.port, api_key=key)
        replies = [write(keyed, body) for _ in range(50)]
        assert replies[0].status == 204
        limited = [r for r in replies if r.status == 429]
        assert limited and int(limited[0].headers["retry-after"]) >= 1, [r.status for r in replies]
        assert {r.status for r in replies} <= {204, 429}
    finally:
        proc.stop()


@pytest.mark.parametrize("version", [rw.V1, rw.V2])
def test_the_point_limit_is_a_413(api, version):
    from weir.metrics import limits

    n = limits.MAX_POINTS_PER_REQUEST + 1
    items = [({"__name__": "rwapi_many", "i": str(i)}, [(NOW_MS, 1.0)]) for i in range(n)]
    if version == rw.V1:
        r = write(api, enc.write_request_v1(items))
    else:
        r = write(api, enc.write_request_v2([enc.SeriesV2(labels, s) for labels, s in items]), V2_HEADERS)
    assert r.status == 413, r
    assert api.get("/metrics/rwapi_many/series").status == 404, "nothing of it was stored"


def test_the_route_names_the_messages_as_the_decoder_does_and_imports_it_lazily():
    import subprocess
    import sys

    from weir.http.routes import remote

    assert (remote.V1, remote.V2) == (rw.V1, rw.V2)
    code = ("import sys, weir.http.app as a, weir.http.routes.remote; "
            "print(sorted(m for m in sys.modules if m.startswith('weir.wire.remote') or m == 'cramjam'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]", "a cold start imports no remote write/read code"
