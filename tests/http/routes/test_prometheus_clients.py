"""Prometheus' HTTP API on `weir serve`, asked by real clients: promtool, the
prometheus-api-client package, vmalert, and the requests Grafana's Prometheus data source
sends. Parameter errors are compared with what a real Prometheus answers.

The data sit at fixed instants a few hours in the past (whole hours, so no query straddles
anything that moves), and every expected answer is computed from the points pushed.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from datetime import UTC, datetime

import pytest

from tests.helpers import WeirProcess
from tests.http.routes.prometheus_peers import PrometheusPeer, Receiver, VmalertPeer, need, wait_until

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BASE = (int(time.time()) // 3600 - 3) * 3600  # whole hours, 3-4 hours ago, within retention
STEP, N, HOSTS = 15, 240, 3  # an hour of points every 15 s for h0..h2


def cpu_value(host: int, j: int) -> float:
    return round(10 * host + (j * 7 % 50) / 10, 1)


def region(host: int) -> str:
    return f"r{host % 2}"


def dataset() -> list[dict]:
    pts = []
    for j in range(N):
        ts = BASE + STEP * j
        for h in range(HOSTS):
            dims = {"host": f"h{h}", "region": region(h)}
            pts.append({"name": "cpu", "value": cpu_value(h, j), "timestamp": ts, "dimensions": dims,
                        "unit": "Percent"})
            pts.append({"name": "requests_total", "value": j * (h + 1), "timestamp": ts, "type": "counter",
                        "dimensions": dims})
        pts.append({"name": "http.server.duration", "value": j / 2, "timestamp": ts, "dimensions": {"service": "api"}})
    return pts


@pytest.fixture(scope="module")
def weir(server):
    pts = dataset()
    for i in range(0, len(pts), 5000):
        r = server.http.post("/metrics", {"metrics": pts[i : i + 5000]})
        assert r.status == 200 and not r.json()["rejected"], r
    return server


def at(j: int) -> int:
    return BASE + STEP * j


def prom(value: float) -> str:
    """A sample value as Prometheus' JSON writes it (Go's shortest float formatting)."""
    return repr(float(value)).removesuffix(".0") if float(value).is_integer() else repr(float(value))


def labels(h: int) -> dict[str, str]:
    return {"__name__": "cpu", "host": f"h{h}", "region": region(h)}


def ok(reply) -> dict:
    assert reply.status == 200, reply
    body = reply.json()
    assert body["status"] == "success", body
    return body["data"]


# -- promtool ------------------------------------------------------------------------------


def promtool(*args: str) -> str:
    out = subprocess.run([need("promtool"), "query", *args], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def test_promtool_instant(weir):
    got = json.loads(promtool("instant", "-o", "json", weir.url, "cpu", f"--time={at(100)}"))
    assert sorted((s["metric"]["host"], s["value"]) for s in got) == [
        (f"h{h}", [at(100), prom(cpu_value(h, 100))]) for h in range(HOSTS)]


def test_promtool_range(weir):
    got = json.loads(promtool("range", "-o", "json", weir.url, 'cpu{host="h1"}',
                              f"--start={at(10)}", f"--end={at(50)}", "--step=15s"))
    assert [s["metric"] for s in got] == [labels(1)]
    assert got[0]["values"] == [[at(j), prom(cpu_value(1, j))] for j in range(10, 51)]


def test_promtool_series_and_labels(weir):
    got = json.loads(promtool("series", "-o", "json", weir.url, "--match=cpu",
                              '--match={__name__="http.server.duration"}'))
    want = [labels(h) for h in range(HOSTS)] + [{"__name__": "http.server.duration", "service": "api"}]
    assert sorted(got, key=json.dumps) == sorted(want, key=json.dumps)
    assert promtool("labels", weir.url, "host").split() == ["h0", "h1", "h2"]
    assert promtool("labels", weir.url, "__name__").split() == ["cpu", "http.server.duration", "requests_total"]


# -- prometheus-api-client -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_prometheus_api_client(weir, method):
    from prometheus_api_client import PrometheusConnect

    client = PrometheusConnect(url=weir.url, method=method)
    assert client.all_metrics() == ["cpu", "http.server.duration", "requests_total"]
    assert client.get_label_values("region") == ["r0", "r1"]
    by_region = client.custom_query("sum by (region) (cpu)", params={"time": at(7)})
    want = {f"r{r}": sum(cpu_value(h, 7) for h in range(HOSTS) if h % 2 == r) for r in (0, 1)}
    assert {s["metric"]["region"]: float(s["value"][1]) for s in by_region} == pytest.approx(want)
    assert all(s["value"][0] == at(7) for s in by_region)
    rows = client.custom_query_range('cpu{host="h2"}', datetime.fromtimestamp(at(0), UTC),
                                     datetime.fromtimestamp(at(20), UTC), "30s")
    assert rows[0]["metric"] == labels(2)
    assert rows[0]["values"] == [[at(j), prom(cpu_value(2, j))] for j in range(0, 21, 2)]
    meta = {m["metric_name"]: m for m in client.get_metric_metadata(None)}
    assert meta["cpu"] == {"metric_name": "cpu", "type": "gauge", "help": "", "unit": "Percent"}
    assert meta["requests_total"]["type"] == "counter"


def test_dotted_names_are_returned_unchanged(weir):
    for selector in ('{__name__="http.server.duration"}', '{"http.server.duration"}'):
        data = ok(weir.http.get("/api/v1/query", params={"query": selector, "time": at(9)}))
        assert data == {"resultType": "vector", "result": [
            {"metric": {"__name__": "http.server.duration", "service": "api"}, "value": [at(9), "4.5"]}]}


# -- Grafana's Prometheus data source ------------------------------------------------------


def test_grafana_save_and_test(weir):
    """"Save & test": a form POST of the instant query 1+1, and the build information."""
    data = ok(weir.http.request("POST", "/api/v1/query", f"query=1%2B1&time={at(3)}.123", headers=FORM))
    assert data == {"resultType": "scalar", "result": [at(3) + 0.123, "2"]}
    info = ok(weir.http.get("/api/v1/status/buildinfo"))
    assert info["version"] and "features" not in info


def test_grafana_range_query_form_post(weir):
    body = (f"query=avg+by+(region)+(cpu)&start={at(0)}&end={at(40)}&step=60")
    data = ok(weir.http.request("POST", "/api/v1/query_range", body, headers=FORM))
    assert data["resultType"] == "matrix"
    got = {s["metric"]["region"]: s["values"] for s in data["result"]}
    for r in (0, 1):
        hosts = [h for h in range(HOSTS) if h % 2 == r]
        want = [[at(j), sum(cpu_value(h, j) for h in hosts) / len(hosts)] for j in range(0, 41, 4)]
        assert [t for t, _ in got[f"r{r}"]] == [t for t, _ in want]
        assert [float(v) for _, v in got[f"r{r}"]] == pytest.approx([v for _, v in want])


def test_grafana_editor_lookups(weir):
    window = {"start": str(at(0)), "end": str(at(N))}
    assert ok(weir.http.get("/api/v1/labels", params=window)) == ["__name__", "host", "region", "service"]
    assert ok(weir.http.request("POST", "/api/v1/labels", f"start={at(0)}&end={at(N)}", headers=FORM)) == [
        "__name__", "host", "region", "service"]
    assert ok(weir.http.get("/api/v1/label/__name__/values", params=window)) == [
        "cpu", "http.server.duration", "requests_total"]
    assert ok(weir.http.get("/api/v1/label/host/values", params={**window, "match[]": 'cpu{region="r0"}'})) == [
        "h0", "h2"]
    series = ok(weir.http.request("POST", "/api/v1/series", f"match%5B%5D=requests_total&start={at(0)}",
                                  headers=FORM))
    assert [s["host"] for s in series] == ["h0", "h1", "h2"] and series[0]["__name__"] == "requests_total"
    # several match[], values merged; limit cuts with Prometheus' warning
    both = weir.http.get("/api/v1/series?match[]=cpu&match[]={service=%22api%22}&limit=2")
    assert both.status == 200 and len(both.json()["data"]) == 2
    assert both.json()["warnings"] == ["results truncated due to limit"]


def test_query_limit_and_a_counter_rate(weir):
    reply = weir.http.get("/api/v1/query", params={"query": "rate(requests_total[5m])", "time": at(100),
                                                   "limit": "1"})
    body = reply.json()
    assert reply.status == 200 and body["warnings"] == ["results truncated due to limit"]
    assert len(body["data"]["result"]) == 1
    # requests_total grows by (h+1) every 15 s: a rate of (h+1)/15 per second, exactly.
    for s in ok(weir.http.get("/api/v1/query", params={"query": "rate(requests_total[5m])", "time": at(100)}))[
            "result"]:
        h = int(s["metric"]["host"][1:])
        assert "__name__" not in s["metric"] and float(s["value"][1]) == pytest.approx((h + 1) / 15)


# -- vmalert -------------------------------------------------------------------------------


def test_vmalert_fires_an_alert_from_weir(weir, tmp_path):
    """vmalert evaluates a rule against Weir's /api/v1/query every second; the alert reaches
    its notifier. Fresh points are pushed while it runs (it asks about "now")."""
    need("vmalert")
    rules = """groups:
  - name: weir
    rules:
      - alert: HotCPU
        expr: max by (host) (hot_cpu) > 90
        labels: {severity: page}
"""
    stop = threading.Event()

    def push():
        while not stop.is_set():
            now = time.time()
            weir.http.post("/metrics", {"metrics": [
                {"name": "hot_cpu", "value": 95.5, "timestamp": now, "dimensions": {"host": "h7"}},
                {"name": "hot_cpu", "value": 10.0, "timestamp": now, "dimensions": {"host": "h8"}},
            ]})
            stop.wait(1)

    pusher = threading.Thread(target=push, daemon=True)
    pusher.start()
    receiver = Receiver()
    vmalert = VmalertPeer(tmp_path / "vmalert").start(weir.url, rules, receiver.url)
    try:
        sent = wait_until(lambda: [a for a in receiver.alerts if a["labels"].get("alertname") == "HotCPU"],
                          "vmalert notifying HotCPU", timeout=90)
        assert {a["labels"]["host"] for a in sent} == {"h7"}
        assert sent[0]["labels"]["severity"] == "page"
        alerts = vmalert.http.get("/api/v1/alerts").json()["data"]["alerts"]
        assert [(a["name"], a["labels"]["host"], a["state"]) for a in alerts] == [("HotCPU", "h7", "firing")]
    finally:
        stop.set()
        pusher.join(30)
        vmalert.stop()
        receiver.stop()


# -- errors, compared with a real Prometheus ----------------------------------------------


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    peer = PrometheusPeer(tmp_path_factory.mktemp("prometheus")).start()
    yield peer
    peer.stop()


BAD_REQUESTS = [
    ("GET", "/api/v1/query", {}),  # no query
    ("GET", "/api/v1/query", {"query": "sum(rate(x[5m])"}),
    ("GET", "/api/v1/query", {"query": "rate(x)"}),
    ("GET", "/api/v1/query", {"query": "x{"}),
    ("GET", "/api/v1/query", {"query": "1", "time": "yesterday"}),
    ("GET", "/api/v1/query", {"query": "1", "timeout": "soon"}),
    ("GET", "/api/v1/query_range", {"query": "1"}),
    ("GET", "/api/v1/query_range", {"query": "1", "start": "1", "end": "x", "step": "1"}),
    ("GET", "/api/v1/query_range", {"query": "1", "start": "2", "end": "1", "step": "1"}),
    ("GET", "/api/v1/query_range", {"query": "1", "start": "1", "end": "2", "step": "0"}),
    ("GET", "/api/v1/query_range", {"query": "1", "start": "1", "end": "2", "step": "-5"}),
    ("GET", "/api/v1/query_range", {"query": "1", "start": "1", "end": "2", "step": "1x"}),
    ("GET", "/api/v1/query_range", {"query": "1", "start": "0", "end": "100000", "step": "1"}),
    ("GET", "/api/v1/query_range", {"query": "foo(", "start": "0", "end": "10", "step": "1"}),
    ("GET", "/api/v1/series", {}),
    ("GET", "/api/v1/series", {"match[]": "{"}),
    ("GET", "/api/v1/series", {"match[]": '{a=""}'}),
    ("GET", "/api/v1/series", {"match[]": "up", "start": "x"}),
    ("GET", "/api/v1/labels", {"match[]": "{x=~"}),
    ("GET", "/api/v1/labels", {"end": "x"}),
    ("GET", "/api/v1/label/a b/values", {}),
    ("GET", "/api/v1/label/host/values", {"match[]": "rate("}),
    ("GET", "/api/v1/metadata", {"limit": "x"}),
    ("GET", "/api/v1/format_query", {"query": "1 +"}),
    ("GET", "/api/v1/query_exemplars", {"query": "1 +"}),
    ("GET", "/api/v1/query_exemplars", {}),
    ("GET", "/api/v1/query_exemplars", {"query": "up", "start": "2", "end": "1"}),
    ("POST", "/api/v1/query_exemplars", {"query": "up", "start": "x"}),
    ("POST", "/api/v1/query", {"query": "sum by (x (y)"}),
    ("POST", "/api/v1/query_range", {"query": "1", "start": "a", "end": "1", "step": "1"}),
]


@pytest.mark.parametrize("method, path, params", BAD_REQUESTS, ids=lambda x: json.dumps(x) if isinstance(x, dict)
                         else x)
def test_errors_answer_as_prometheus_does(weir, prometheus, method, path, params):
    from urllib.parse import quote, urlencode

    target = quote(path)
    if method == "GET":
        replies = [p.http.get(target, params=params) for p in (weir, prometheus)]
    else:
        replies = [p.http.request("POST", target, urlencode(params), headers=FORM) for p in (weir, prometheus)]
    ours, theirs = replies
    assert (ours.status, ours.json()["errorType"]) == (theirs.status, theirs.json()["errorType"]), (ours, theirs)
    assert ours.json()["status"] == "error"
    mentioned = [p for p in ("query", "time", "start", "end", "step", "timeout", "match[]")
                 if f'parameter "{p}"' in theirs.json()["error"]]
    for p in mentioned:
        assert f'parameter "{p}"' in ours.json()["error"], (ours, theirs)
    if re.search(r"[0-9]+:[0-9]+: parse error", theirs.json()["error"]):
        assert re.search(r"[0-9]+:[0-9]+: parse error", ours.json()["error"]), (ours, theirs)  # line:column


@pytest.mark.parametrize("expr", ["sum by (host) (rate(x_total[5m]))", "a+on(b)group_left(c)d",
                                  'topk(3,  sum without(instance)(up{job="x"} offset 5m))', "-1 ^ 2"])
def test_format_query_as_prometheus(weir, prometheus, expr):
    ours = ok(weir.http.get("/api/v1/format_query", params={"query": expr}))
    assert ours == ok(prometheus.http.get("/api/v1/format_query", params={"query": expr}))


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_query_exemplars_as_prometheus_without_any(weir, prometheus, method):
    """Grafana asks for exemplars when a panel shows them: neither holds any here, and both
    answer an empty list (Weir keeps none at all)."""
    from urllib.parse import urlencode

    params = {"query": 'sum(rate(x_total{a="b"}[5m]))', "start": "1700000000", "end": "1700003600"}
    if method == "GET":
        replies = [p.http.get("/api/v1/query_exemplars", params=params) for p in (weir, prometheus)]
    else:
        replies = [p.http.request("POST", "/api/v1/query_exemplars", urlencode(params), headers=FORM)
                   for p in (weir, prometheus)]
    assert ok(replies[0]) == ok(replies[1]) == []


def test_time_forms_agree_with_prometheus(weir, prometheus):
    """RFC 3339 and float seconds, evaluated by both: `time()` echoes the instant parsed."""
    for t in ("2026-01-02T03:04:05.678Z", "2026-01-02T05:04:05+02:00", "1767323045.6785", "1767323045", "1e9"):
        ours = ok(weir.http.get("/api/v1/query", params={"query": "time()", "time": t}))
        assert ours == ok(prometheus.http.get("/api/v1/query", params={"query": "time()", "time": t})), t


# -- API keys ---------------------------------------------------------------------------------


def test_keys_guard_the_query_api_and_open_reads_includes_its_posts(tmp_path):
    from tests.http.test_auth import add_key

    data = tmp_path / "data"
    key = add_key(data, "reader")
    for extra, open_reads in (((), False), (("--open-reads",), True)):
        proc = WeirProcess(data, *extra)
        proc.start()
        try:
            h = proc.http
            for method, body in (("GET", None), ("POST", "query=1")):
                path = "/api/v1/query" + ("?query=1" if body is None else "")
                r = h.request(method, path, body, headers=FORM if body else {})
                assert r.status == (200 if open_reads else 401), r
                assert h.request(method, path, body, headers={**(FORM if body else {}), "x-api-key": key}).status == 200
            # a write stays closed
            assert h.post("/metrics", {"name": "x", "value": 1}).status == 401
        finally:
            proc.stop()


def test_nothing_is_a_server_error(weir):
    """Odd bodies and encodings are 4xx in Prometheus' envelope."""
    cases = [
        ("POST", "/api/v1/query", "query=1&time=%zz", FORM),
        ("POST", "/api/v1/query", '{"query": "1"}', {"Content-Type": "application/json"}),
        ("POST", "/api/v1/query", "query=1", {}),
        # deeper than promql-parser's stack holds (it would take the server down)
        ("POST", "/api/v1/query", "query=" + "1%2B" * 20000 + "1", FORM),
        ("POST", "/api/v1/format_query", "query=" + "(" * 20000 + "1" + ")" * 20000, FORM),
        ("POST", "/api/v1/series", "match[]=" + "(" * 20000, FORM),
    ]
    for method, path, body, headers in cases:
        r = weir.http.request(method, path, body, headers=headers)
        assert 400 <= r.status < 500 and r.json()["status"] == "error", r
