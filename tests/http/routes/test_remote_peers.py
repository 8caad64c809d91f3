"""Real senders and a real reader: Prometheus 2.42 and vmagent 1.79 scrape an exporter served
here and remote-write to `weir serve`, unchanged; a Prometheus whose `remote_read` points at
Weir answers PromQL over points only Weir holds. Everything is read back through Weir's API.
The server has an API key, presented as the README shows: `authorization: credentials` by
Prometheus (Debian's 2.42 build drops `remote_write.headers`: a test below shows it), the
`x-api-key` header (what API Gateway checks) by vmagent."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest
from click.testing import CliRunner
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tests.helpers import Http, WeirProcess
from tests.peers import prometheus, vmagent, wait_for

PROM_JOB = "prom scrape/1"
VM_JOB = "vmagent scrape/ü"
ROOMS = {("Living room/north", "Zürich"): 21.5, ("Küche", "München"): -3.25}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """`weir serve` with an API key: (process, key, a client presenting the key)."""
    from weir.cli import main

    data = tmp_path_factory.mktemp("weir-keyed") / "data"
    added = CliRunner().invoke(main, ["keys", "add", "prometheus", "--data-dir", str(data)])
    assert added.exit_code == 0, added.output
    key = added.stdout.strip()
    proc = WeirProcess(data)
    proc.start()
    yield proc, key, Http(proc.port, api_key=key)
    proc.stop()


@pytest.fixture(scope="module")
def exporter():
    reg = CollectorRegistry()
    temp = Gauge("rw_temperature_celsius", "temperature", ["room", "city"], registry=reg)
    for (room, city), v in ROOMS.items():
        temp.labels(room, city).set(v)
    Counter("rw_jobs", "jobs done", ["queue"], registry=reg).labels("mail/out bound").inc(7)
    hist = Histogram("rw_latency_seconds", "latency", buckets=(0.1, 1.0), registry=reg)
    for v in (0.05, 0.5, 5):
        hist.observe(v)
    srv, _thread = start_http_server(0, addr="127.0.0.1", registry=reg)
    yield f"127.0.0.1:{srv.server_port}"
    srv.shutdown()


def scrape_config(job: str, target: str) -> str:
    return json.dumps({"scrape_configs": [{"job_name": job, "scrape_interval": "1s",
                                           "static_configs": [{"targets": [target]}]}]})


def series_of(api, name: str, job: str) -> list[dict]:
    r = api.get(f"/metrics/{name}/series", params={"dim.job": job})
    return r.json()["series"] if r.status == 200 else []


def latest(api, name: str, dims: dict[str, str]) -> float | None:
    params = {"start": "-15m", "period": "3600", "stat": "max,count", **{f"dim.{k}": v for k, v in dims.items()}}
    r = api.get(f"/metrics/{name}", params=params)
    assert r.status == 200, r
    points = [p for g in r.json()["groups"] for p in g["datapoints"] if p.get("count")]
    return points[-1]["max"] if points else None


def check_scraped(api, job: str) -> None:
    """What the exporter exposes, stored under Weir names and types, labels intact."""
    temps = wait_for(f"{job}: rw_temperature_celsius in Weir", lambda: series_of(api, "rw_temperature_celsius", job))
    wait_for(f"{job}: both rooms", lambda: len(series_of(api, "rw_temperature_celsius", job)) == 2)
    temps = series_of(api, "rw_temperature_celsius", job)
    for s in temps:
        assert set(s["dimensions"]) == {"room", "city", "job", "instance"} and s["type"] == "gauge"
        room, city = s["dimensions"]["room"], s["dimensions"]["city"]
        assert latest(api, "rw_temperature_celsius", s["dimensions"]) == ROOMS[(room, city)]
    assert {(s["dimensions"]["room"], s["dimensions"]["city"]) for s in temps} == set(ROOMS)

    jobs = wait_for(f"{job}: rw_jobs_total", lambda: series_of(api, "rw_jobs_total", job))
    assert [(s["dimensions"]["queue"], s["type"]) for s in jobs] == [("mail/out bound", "counter")]
    assert latest(api, "rw_jobs_total", jobs[0]["dimensions"]) == 7.0

    buckets = wait_for(f"{job}: buckets", lambda: len(series_of(api, "rw_latency_seconds_bucket", job)) == 3 and
                       series_of(api, "rw_latency_seconds_bucket", job))
    got = {s["dimensions"]["le"]: (latest(api, "rw_latency_seconds_bucket", s["dimensions"]), s["type"])
           for s in buckets}
    assert got == {"0.1": (1.0, "counter"), "1.0": (2.0, "counter"), "+Inf": (3.0, "counter")}
    for name, value in (("rw_latency_seconds_count", 3.0), ("rw_latency_seconds_sum", 5.55)):
        [s] = wait_for(f"{job}: {name}", lambda n=name: series_of(api, n, job))
        assert s["type"] == "counter" and latest(api, name, s["dimensions"]) == value

    [up] = wait_for(f"{job}: up", lambda: series_of(api, "up", job))
    assert latest(api, "up", up["dimensions"]) == 1.0

    # and through Weir's PromQL API, as Grafana would ask
    r = api.get("/api/v1/query", params={"query": f'rw_temperature_celsius{{job="{job}"}}'})
    assert r.status == 200, r
    got = {(s["metric"]["room"], s["metric"]["city"]): float(s["value"][1]) for s in r.json()["data"]["result"]}
    assert got == ROOMS
    r = api.get("/api/v1/query", params={"query": f'sum(rw_latency_seconds_bucket{{job="{job}",le="1.0"}})'})
    assert [float(s["value"][1]) for s in r.json()["data"]["result"]] == [2.0]


def metric_lines(url: str, prefix: str) -> list[str]:
    with urllib.request.urlopen(url + "/metrics", timeout=30) as r:
        return [line for line in r.read().decode().splitlines() if line.startswith(prefix)]


def test_prometheus_remote_writes_into_weir(keyed, exporter, tmp_path):
    server, key, api = keyed
    assert api.get("/metrics", key=False).status == 401  # the key is needed
    config = json.loads(scrape_config(PROM_JOB, exporter))
    config["global"] = {"scrape_interval": "1s"}
    config["remote_write"] = [{
        "url": f"{server.url}/api/v1/write",
        "authorization": {"credentials": key},
        "queue_config": {"batch_send_deadline": "1s", "min_backoff": "100ms", "max_backoff": "1s",
                         "max_samples_per_send": 10000, "retry_on_http_429": True},
        "metadata_config": {"send_interval": "1s"},
    }]
    prom = prometheus(tmp_path / "prom", json.dumps(config))
    try:
        check_scraped(api, PROM_JOB)
        sent = wait_for("Prometheus counts its sent samples", lambda: [
            line for line in metric_lines(prom.url, "prometheus_remote_storage_samples_total")
            if float(line.rsplit(" ", 1)[1]) > 0])
        assert sent
        failed = metric_lines(prom.url, "prometheus_remote_storage_samples_failed_total")
        assert failed and all(float(line.rsplit(" ", 1)[1]) == 0 for line in failed), failed
        assert "non-recoverable error" not in prom.log()
    finally:
        prom.stop()


def test_vmagent_remote_writes_into_weir(keyed, exporter, tmp_path):
    server, key, api = keyed
    agent = vmagent(tmp_path / "vmagent", scrape_config(VM_JOB, exporter), f"{server.url}/api/v1/write",
                    f"-remoteWrite.headers=x-api-key:{key}")
    try:
        check_scraped(api, VM_JOB)
        codes = metric_lines(agent.url, "vmagent_remotewrite_requests_total")
        assert any('status_code="2XX"' in line for line in codes), codes  # vmagent counts by class
        assert not any('status_code="4' in line or 'status_code="5' in line for line in codes), codes
    finally:
        agent.stop()


def prom_query(prom, path: str, **params) -> list[dict]:
    url = f"{prom.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
    with urllib.request.urlopen(url, timeout=60) as r:
        body = json.load(r)
    assert body["status"] == "success", body
    return body["data"]["result"]


def test_prometheus_remote_reads_points_only_weir_holds(keyed, tmp_path):
    server, key, api = keyed
    base = (int(time.time()) // 3600 - 3) * 3600  # a whole hour 2-3 h ago: fixed, in Prometheus' range
    hosts = {"h0": "eu west/1", "h1": "eu west/1", "h2": "München"}
    written = {h: [(base + 60 * i, round(10 + 5 * k + 0.25 * i, 2)) for i in range(30)] for k, h in enumerate(hosts)}
    points = [{"name": "rr_cpu", "value": v, "timestamp": t, "dimensions": {"host": h, "region": hosts[h]}}
              for h, pts in written.items() for t, v in pts]
    r = api.post("/metrics", {"metrics": points})
    assert r.status == 200 and r.json()["accepted"] == 90, r

    config = {"global": {"scrape_interval": "1m"}, "scrape_configs": [],
              "remote_read": [{"url": f"{server.url}/api/v1/read", "read_recent": True,
                               "authorization": {"credentials": key}}]}
    prom = prometheus(tmp_path / "reader", json.dumps(config))
    try:
        got = prom_query(prom, "query_range", query="rr_cpu", start=base, end=base + 29 * 60, step=60)
        by_host = {s["metric"]["host"]: [(int(t), float(v)) for t, v in s["values"]] for s in got}
        assert by_host == written
        assert {s["metric"]["region"] for s in got} == {"eu west/1", "München"}
        # Weir's own query API holds the same values
        weir = api.get("/metrics/rr_cpu", params={"start": base, "end": base + 1800, "period": 60, "stat": "max",
                                                  "group_by": "host"}).json()
        assert {g["group"]["host"]: [p["max"] for p in g["datapoints"]] for g in weir["groups"]} == {
            h: [v for _, v in pts] for h, pts in written.items()}

        at = base + 600
        sums = prom_query(prom, "query", query="sum by (region) (rr_cpu)", time=at)
        want = {}
        for h, pts in written.items():
            want[hosts[h]] = want.get(hosts[h], 0) + dict(pts)[at]
        assert {s["metric"]["region"]: float(s["value"][1]) for s in sums} == pytest.approx(want)
        for selector, hosts_wanted in [('rr_cpu{host=~"h0|h2"}', {"h0", "h2"}),
                                       ('rr_cpu{region!="München"}', {"h0", "h1"}),
                                       ('rr_cpu{host!~"h[01]"}', {"h2"}),
                                       ('rr_cpu{host=~"h"}', set()),  # anchored: "h" matches no host
                                       ('{__name__=~"rr_.*", host="h1"}', {"h1"}),
                                       ('rr_cpu{missing=""}', {"h0", "h1", "h2"})]:
            found = prom_query(prom, "query", query=selector, time=at)
            assert {s["metric"]["host"] for s in found} == hosts_wanted, selector
        assert prom_query(prom, "query", query="rr_nothing_here", time=at) == []
    finally:
        prom.stop()


def test_debians_prometheus_drops_remote_write_headers(keyed, exporter, tmp_path):
    """Why the README tells Prometheus users of Debian's package to use `authorization`: its
    2.42 build sends no `remote_write.headers` (upstream builds do), so `x-api-key` set there
    never arrives and every request is refused (401, which Prometheus does not retry)."""
    import subprocess

    from tests.peers import need

    version = subprocess.run([need("prometheus"), "--version"], capture_output=True, text=True, timeout=60)
    if "+ds" not in version.stdout + version.stderr:
        pytest.skip("not Debian's build of Prometheus")
    server, key, api = keyed
    config = json.loads(scrape_config("prom headers", exporter))
    config["remote_write"] = [{"url": f"{server.url}/api/v1/write", "headers": {"x-api-key": key},
                               "queue_config": {"batch_send_deadline": "1s"}}]
    prom = prometheus(tmp_path / "prom-headers", json.dumps(config))
    try:
        wait_for("Prometheus reports the refusal", lambda: "401 Unauthorized" in prom.log())
    finally:
        prom.stop()
    assert series_of(api, "rw_temperature_celsius", "prom headers") == []
