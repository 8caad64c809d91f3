"""PromQL over Prometheus' HTTP API: Weir (`weir serve`) beside VictoriaMetrics, same data, same queries.

    python bench/promql.py [--hosts 1000] [--hours 24] [--interval 10] [--repeat 3]

The read benchmarks' dataset (docs: DESIGN "Benchmark data for reads"): `cpu`, a gauge with
`host=h0..` and `region=r0..r9`, one point per host every 10 s for 24 h (8.64M points at full
scale), values like a CPU percentage with one decimal (a daily wave per host plus noise), and
`requests_total`, a counter with the same labels (as many points again). Loaded into Weir over
`POST /metrics`, then stopped, `weir migrate` (every closed hour finalised, as on a server that
has run on: otherwise the queries share the GIL with a day's finalising) and restarted (its
CPU then watched until idle: after a restart it re-exports the hours the load changed, which a
server left running would have done); loaded into VictoriaMetrics over
`/api/v1/import/prometheus` (run with `-search.disableCache`, so repeats are not answered
from its result cache; `/internal/force_flush` after loading).

The same four queries are asked of both over HTTP, one warm-up then the median of
`--repeat` runs: one host over 12 h at 1 m; `avg by (region) (avg_over_time(cpu[1h]))` over
24 h at 1 h; `max_over_time(cpu[1h])` for all hosts over 24 h at 1 h; `sum by (region)
(rate(requests_total[5m]))` over 6 h at 1 m. Prints milliseconds for each, the ratio
Weir / VictoriaMetrics, whether both answered the same series, and the largest relative
difference of their values (VictoriaMetrics' MetricsQL differs from PromQL in places, such as
rate's extrapolation). The last line is the summary.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import numpy as np
from workload import CONNECTIONS, WeirServer, free_port, wait_http, wait_idle, weir_compact

REGIONS = 10
BATCH_TIMES = 5  # timestamps per request: 5 x 1,000 hosts x 2 metrics = 10,000 points, Weir's most per request


def series_values(hosts: int, n: int, interval: int, start: int) -> tuple[np.ndarray, np.ndarray]:
    """(cpu, requests_total), each hosts x n: a daily wave per host plus noise, one decimal;
    a counter growing by 0..20 per interval."""
    rnd = np.random.default_rng(42)
    t = start + interval * np.arange(n)
    phase = rnd.uniform(0, 1, size=(hosts, 1))
    level = rnd.uniform(20, 60, size=(hosts, 1))
    wave = level + 25 * np.sin(2 * np.pi * (t[None, :] / 86_400 + phase))
    cpu = np.clip(np.round(wave + rnd.normal(0, 4, size=(hosts, n)), 1), 0, 100)
    requests = np.cumsum(rnd.integers(0, 21, size=(hosts, n)), axis=1).astype(np.float64)
    return cpu, requests


def weir_bodies(cpu: np.ndarray, req: np.ndarray, start: int, interval: int):
    hosts, n = cpu.shape
    labels = [f'"dimensions":{{"host":"h{h}","region":"r{h % REGIONS}"}}' for h in range(hosts)]
    for j0 in range(0, n, BATCH_TIMES):
        parts = []
        for j in range(j0, min(n, j0 + BATCH_TIMES)):
            ts = start + interval * j
            c, r = cpu[:, j].tolist(), req[:, j].tolist()
            for h in range(hosts):
                parts.append(f'{{"name":"cpu","value":{c[h]},"timestamp":{ts},{labels[h]}}}')
                parts.append(f'{{"name":"requests_total","type":"counter","value":{r[h]},"timestamp":{ts},'
                             f'{labels[h]}}}')
        yield ('{"metrics":[' + ",".join(parts) + "]}").encode()


def vm_bodies(cpu: np.ndarray, req: np.ndarray, start: int, interval: int):
    """Prometheus text with millisecond timestamps, for /api/v1/import/prometheus."""
    hosts, n = cpu.shape
    for h in range(hosts):
        lab = f'{{host="h{h}",region="r{h % REGIONS}"}}'
        c, r = cpu[h].tolist(), req[h].tolist()
        lines = [f"cpu{lab} {c[j]} {(start + interval * j) * 1000}" for j in range(n)]
        lines += [f"requests_total{lab} {r[j]} {(start + interval * j) * 1000}" for j in range(n)]
        yield ("\n".join(lines) + "\n").encode()


class VictoriaMetrics:
    def __init__(self) -> None:
        self.binary = shutil.which("victoria-metrics")
        if self.binary is None:
            sys.exit("victoria-metrics is not installed (apt-get install victoria-metrics)")
        self.tmp = tempfile.TemporaryDirectory(prefix="vm-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> VictoriaMetrics:
        self.proc = subprocess.Popen(
            [self.binary, f"-storageDataPath={self.tmp.name}", f"-httpListenAddr=127.0.0.1:{self.port}",
             "-search.disableCache", "-retentionPeriod=1y", "-loggerLevel=ERROR"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/health")
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self.tmp.cleanup()


def ask(port: int, path: str, params: dict, timeout: float = 600) -> tuple[float, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    conn.request("GET", path + "?" + urllib.parse.urlencode(params))
    resp = conn.getresponse()
    raw = resp.read()
    ms = (time.perf_counter() - t0) * 1000
    conn.close()
    body = json.loads(raw)
    if resp.status != 200 or body.get("status") != "success":
        raise RuntimeError(f"{path} {params}: HTTP {resp.status} {raw[:300]!r}")
    return ms, body["data"]


def compare(a: dict, b: dict) -> tuple[bool, float]:
    """Same series (label sets but the name)? The largest relative difference of values at common timestamps."""
    def index(data):  # without __name__: MetricsQL keeps it where PromQL drops it (max_over_time)
        return {json.dumps({k: v for k, v in s["metric"].items() if k != "__name__"}, sort_keys=True):
                dict(s.get("values") or [s["value"]]) for s in data["result"]}

    ia, ib = index(a), index(b)
    worst = 0.0
    for key in ia.keys() & ib.keys():
        for t, v in ia[key].items():
            if t in ib[key]:
                x, y = float(v), float(ib[key][t])
                if math.isfinite(x) and math.isfinite(y) and (x or y):
                    worst = max(worst, abs(x - y) / max(abs(x), abs(y)))
    return ia.keys() == ib.keys(), worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--interval", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    n = args.hours * 3600 // args.interval
    end = int(time.time()) // 3600 * 3600 - 3600  # whole hours, the last an hour ago
    start = end - args.hours * 3600
    cpu, req = series_values(args.hosts, n, args.interval, start)
    points = 2 * args.hosts * n
    span = args.hours * 3600
    host = f"h{args.hosts // 2}"
    queries = [
        ("one host, 12 h at 1 m", f'cpu{{host="{host}"}}', end - min(span, 12 * 3600), 60),
        ("avg by region of avg_over_time 1h, 24 h at 1 h", "avg by (region) (avg_over_time(cpu[1h]))", start, 3600),
        ("max_over_time 1h all hosts, 24 h at 1 h", "max_over_time(cpu[1h])", start, 3600),
        ("sum by region of rate 5m, 6 h at 1 m", "sum by (region) (rate(requests_total[5m]))",
         end - min(span, 6 * 3600), 60),
    ]
    with tempfile.TemporaryDirectory(prefix="weir-promql-") as data:
        t0 = time.perf_counter()
        with WeirServer(data) as weir:
            send_stream(weir.port, "/metrics", weir_bodies(cpu, req, start, args.interval), "application/json")
        weir_load = time.perf_counter() - t0
        weir_compact(data)  # the day's hours finalised, as a server running on would have them
        with WeirServer(data) as weir, VictoriaMetrics() as vm:
            t0 = time.perf_counter()
            send_stream(vm.port, "/api/v1/import/prometheus", vm_bodies(cpu, req, start, args.interval), "text/plain")
            urllib_get(vm.url + "/internal/force_flush")
            wait_count(vm.port, args.hosts, end)
            vm_load = time.perf_counter() - t0
            idle = wait_idle(weir.proc.pid)  # Weir's re-export of the loaded hours after its restart
            print(f"{points:,} points ({args.hosts} hosts x {args.hours} h at {args.interval} s, cpu and "
                  f"requests_total); load: Weir {weir_load:.0f} s, VictoriaMetrics {vm_load:.0f} s; "
                  f"Weir idle {idle:.0f} s after VictoriaMetrics' load")
            ratios = []
            for title, expr, q_start, step in queries:
                params = {"query": expr, "start": q_start, "end": end, "step": step, "timeout": "120s"}
                timings: dict[str, list[float]] = {"weir": [], "vm": []}
                answers = {}
                for _ in range(args.repeat + 1):  # the first of each is a warm-up, alternating the two
                    for name, port in (("weir", weir.port), ("vm", vm.port)):
                        ms, answers[name] = ask(port, "/api/v1/query_range", params)
                        timings[name].append(ms)
                w, v = statistics.median(timings["weir"][1:]), statistics.median(timings["vm"][1:])
                same, worst = compare(answers["weir"], answers["vm"])
                ratios.append(w / v)
                print(f"{title}: Weir {w:.0f} ms, VictoriaMetrics {v:.0f} ms, ratio {w / v:.1f}x; "
                      f"{len(answers['weir']['result'])} series, {'same' if same else 'DIFFERENT'} series, "
                      f"values within {worst:.1e} relative")
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"promql {points:,} points: Weir / VictoriaMetrics per query " + ", ".join(f"{r:.1f}x" for r in ratios)
          + f" (geometric mean {geo:.1f}x; target within 5x each; median of {args.repeat}; "
          f"machine {os.getloadavg()[0]:.1f} load)")


def send_stream(port: int, path: str, bodies, content_type: str) -> None:
    """`workload.send_all` for bodies made as they are sent (the full dataset is gigabytes of JSON)."""
    lock, errors = threading.Lock(), []

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while not errors:
            with lock:
                body = next(bodies, None)
            if body is None:
                break
            conn.request("POST", path, body=body, headers={"Content-Type": content_type})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status not in (200, 204) or (resp.status == 200 and json.loads(data).get("rejected")):
                errors.append(f"{resp.status} {data[:300]!r}")
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"loading {path} failed: {errors[0]}")


def urllib_get(url: str) -> None:
    import urllib.request

    with urllib.request.urlopen(url, timeout=120) as r:
        r.read()


def wait_count(port: int, hosts: int, end: int, timeout: float = 120) -> None:
    """Until VictoriaMetrics answers for every host (its index catches up after the flush)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        _, data = ask(port, "/api/v1/query", {"query": "count(last_over_time(cpu[1h]))", "time": end})
        if data["result"] and int(float(data["result"][0]["value"][1])) == hosts:
            return
        time.sleep(0.5)
    raise TimeoutError("VictoriaMetrics did not show every series")


if __name__ == "__main__":
    main()
