"""Remote write throughput: Weir beside VictoriaMetrics and Prometheus' own receiver.

    python bench/ingest.py --format remote-write [--rounds 1] [--batches 300]

The standard workload's points (`cpu`, 1,000 series, one point per series every 10 s) as
remote write 1.0 requests of 2,000 and of 10,000 samples (2 or 10 samples per series, in
time order within a request), snappy-compressed once and sent byte for byte to each
receiver over 4 keep-alive connections: `weir serve`, `victoria-metrics` (`/api/v1/write`)
and `prometheus --web.enable-remote-write-receiver` (with `storage.tsdb.out_of_order_time_window`
set, since 4 connections deliver a series' samples out of order). Weir's JSON path
(`POST /metrics`) is run on the same points in requests of the same sizes, for the
per-point comparison. Every receiver is checked to hold every point afterwards. Prints
points/s per receiver and size; each round runs the receivers in a rotated order, and the
ratios printed last are the medians of each round's ratios (the machine's load changes
within a run; a ratio within one round compares like with like).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from workload import SERIES, WeirServer, free_port, points, send_all, wait_http

SIZES = (2_000, 10_000)
RW_HEADERS = {"Content-Encoding": "snappy", "X-Prometheus-Remote-Write-Version": "0.1.0"}
ROOT = Path(__file__).resolve().parent.parent


def bodies(batches: int, per_request: int) -> tuple[list[bytes], list[bytes], int]:
    """(remote write bodies, JSON bodies, points): the same points, `per_request` a request."""
    sys.path.insert(0, str(ROOT / "src"))
    from weir.wire import pb
    from weir.wire.remote_encode import write_request_v1

    per_series = per_request // SERIES
    all_batches = list(points(batches))
    rw, js = [], []
    for i in range(0, len(all_batches) - per_series + 1, per_series):
        group = all_batches[i:i + per_series]
        series = [({"__name__": "cpu", "host": group[0][k][0], "region": group[0][k][1]},
                   [(b[k][2] * 1000, b[k][3]) for b in group]) for k in range(SERIES)]
        rw.append(pb.snappy(write_request_v1(series)))
        js.append(json.dumps({"metrics": [
            {"name": "cpu", "value": v, "timestamp": ts, "dimensions": {"host": h, "region": r}}
            for b in group for h, r, ts, v in b]}).encode())
    return rw, js, len(rw) * per_request


class Peer:
    """A peer server on a free loopback port in a temporary folder."""

    def __init__(self, argv, ready: str) -> None:
        self._argv, self._ready = argv, ready

    def __enter__(self) -> Peer:
        self._tmp = tempfile.TemporaryDirectory(prefix="rw-bench-")
        self.dir = Path(self._tmp.name)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(self._argv(self.dir, self.port), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.dir)
        wait_http(self.url + self._ready, timeout=60)
        return self

    def promql(self, query: str) -> float:
        q = urllib.parse.urlencode({"query": query, "time": time.time()})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=120) as r:
            result = json.load(r)["data"]["result"]
        return float(result[0]["value"][1]) if result else 0.0

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(60)
        self._tmp.cleanup()


def victoria() -> Peer:
    return Peer(lambda d, port: ["victoria-metrics", f"-storageDataPath={d}/vm", f"-httpListenAddr=127.0.0.1:{port}",
                                 "-search.latencyOffset=0s", "-search.disableCache", "-retentionPeriod=1y"], "/health")


def prometheus() -> Peer:
    def argv(d: Path, port: int) -> list[str]:
        (d / "prometheus.yml").write_text(json.dumps(
            {"scrape_configs": [], "storage": {"tsdb": {"out_of_order_time_window": "1d"}}}))
        return ["prometheus", f"--config.file={d}/prometheus.yml", f"--storage.tsdb.path={d}/tsdb",
                f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"]

    return Peer(argv, "/-/ready")


def run_weir(payload: list[bytes], path: str, ctype: str, headers: dict[str, str], n: int) -> float:
    with WeirServer() as server:
        elapsed = send_all(server.port, path, payload, ctype, headers=headers)
        with urllib.request.urlopen(server.url + "/metrics") as r:
            assert json.load(r)["metrics"] == [{"name": "cpu", "series": SERIES}]
        got = _held(server.url, n)
        assert got == n, f"weir holds {got} points of {n}"
        return n / elapsed


def _held(url: str, n: int) -> int:
    """Points of `cpu` Weir holds (its query API, one period over everything)."""
    q = urllib.parse.urlencode({"start": "-1d", "end": "now", "period": "172800", "stat": "count"})
    with urllib.request.urlopen(f"{url}/metrics/cpu?{q}", timeout=120) as r:
        groups = json.load(r)["groups"]
    return sum(p.get("count", 0) for g in groups for p in g["datapoints"])


def run_peer(make, rw: list[bytes], n: int) -> float:
    with make() as peer:
        elapsed = send_all(peer.port, "/api/v1/write", rw, "application/x-protobuf", headers=RW_HEADERS)
        if "victoria" in str(peer._argv(Path("/"), 0)):
            urllib.request.urlopen(peer.url + "/internal/force_flush").read()
        held = peer.promql("sum(count_over_time(cpu[1d]))")
        assert held == n, f"{held} points held of {n}"
        return n / elapsed


def main(rounds: int = 1, batches: int = 300) -> None:
    missing = [b for b in ("victoria-metrics", "prometheus") if shutil.which(b) is None]
    if missing:
        sys.exit(f"{', '.join(missing)} not installed (apt-get install victoria-metrics prometheus)")
    print(f"{os.cpu_count()} cores; {batches * SERIES:,} points per receiver and size; the machine may be "
          f"shared with other work: compare ratios within this run", flush=True)
    best: dict[tuple[str, int], float] = {}
    ratios: dict[tuple[str, int], list[float]] = {}
    names = ("weir remote write", "weir json", "victoriametrics", "prometheus receiver")
    for r in range(1, rounds + 1):
        for size in SIZES:
            rw, js, n = bodies(batches, size)
            got: dict[str, float] = {}
            # Each round starts with another receiver, so none is always first (or last) under
            # whatever else the machine is doing.
            order = names[r % 4:] + names[:r % 4]
            for name in order:
                if name == "weir remote write":
                    got[name] = run_weir(rw, "/api/v1/write", "application/x-protobuf", RW_HEADERS, n)
                elif name == "weir json":
                    got[name] = run_weir(js, "/metrics", "application/json", {}, n)
                else:
                    got[name] = run_peer(victoria if name == "victoriametrics" else prometheus, rw, n)
            for k, v in got.items():
                best[(k, size)] = max(best.get((k, size), 0.0), v)
                ratios.setdefault((k, size), []).append(got["weir remote write"] / v)
            print(f"round {r}, {size:,} samples/request: " + ", ".join(f"{k} {got[k]:,.0f}" for k in names)
                  + " points/s", flush=True)
    for size in SIZES:
        w = best[("weir remote write", size)]
        med = {k: statistics.median(ratios[(k, size)]) for k in names[1:]}
        print(f"{size:,} samples/request: weir {w:,.0f} points/s (best of {rounds}); weir remote write is, "
              f"median of the rounds' ratios: x{med['prometheus receiver']:.2f} prometheus' receiver, "
              f"x{med['victoriametrics']:.2f} victoriametrics, x{med['weir json']:.2f} weir's json path")
