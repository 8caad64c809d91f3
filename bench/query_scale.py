"""Reads at scale: Weir beside InfluxDB 1.6 and VictoriaMetrics 1.79, on the same data, in one run.

    python bench/query_scale.py [--hosts 1000] [--hours 24] [--days 30] [--hosts-30d 1000] [--repeat 5]
                                [--install]

The dataset (bench/workload.py `cpu_batches`): `cpu` with host=h0..h999 and region=r0..r9,
a CPU percentage with one decimal (a daily wave per host plus noise), every 10 s for 24 h
(8.64M points); then `cpu30d`, the same shape every minute for 30 days (43.2M points).
The same line-protocol bodies go to the three servers (Weir's and VictoriaMetrics' `/write`
take InfluxDB's line protocol), each on its own loopback port and temporary folder, Influx
with its own config file and VictoriaMetrics with `-search.disableCache` (its result cache
would answer the repeats).

After the 24 h load each system compacts its own way before its disk is measured: Weir
stops (the head is flushed) and `weir migrate` finalises every hour and VACUUMs;
InfluxDB snapshots and fully compacts cold shards (config: after 10 s and 30 s; the
script waits until the folder stops changing); VictoriaMetrics gets `/internal/force_flush`
and `/internal/force_merge`. Bytes per point = the data folder's size / points.

Each question is asked once to warm up, then `--repeat` times; the median is reported.
Peak RSS is each server process's high-water mark (VmHWM) at its stop, the largest of the
processes a system ran. The targets (issue 15) are printed with each ratio, all measured
in this run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import influxdb
from workload import WeirServer, cpu_line_bodies, free_port, wait_http, weir_compact


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def wait_stable(path: Path, quiet: float = 20.0, limit: float = 600.0) -> None:
    """Until the folder's size has not changed for `quiet` seconds (a background compaction done)."""
    last, since, t0 = -1, time.monotonic(), time.monotonic()
    while time.monotonic() - t0 < limit:
        size = folder_bytes(path)
        if size != last:
            last, since = size, time.monotonic()
        elif time.monotonic() - since >= quiet:
            return
        time.sleep(1)


class Victoria:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="vm-bench-"))
        self.port = free_port()
        self.proc = subprocess.Popen(
            ["victoria-metrics", f"-storageDataPath={self.dir}", f"-httpListenAddr=127.0.0.1:{self.port}",
             "-search.disableCache", "-retentionPeriod=2", "-search.maxPointsPerTimeseries=100000",
             "-search.maxSamplesPerQuery=10000000000", "-loggerLevel=ERROR"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{self.port}/health")

    def compact(self) -> None:
        get(self.port, "/internal/force_flush")
        get(self.port, "/internal/force_merge")
        wait_stable(self.dir, quiet=10)

    def stop(self) -> float:
        hwm = vm_hwm_mb(self.proc.pid)
        self.proc.terminate()
        self.proc.wait(60)
        shutil.rmtree(self.dir, ignore_errors=True)
        return hwm


class Influx:
    def __init__(self) -> None:
        self.server = influxdb.InfluxServer(compact_quickly=True).__enter__()
        self.port = self.server.port
        self.dir = self.server.data_dir

    def compact(self) -> None:
        time.sleep(15)  # past cache-snapshot-write-cold-duration
        wait_stable(self.dir, quiet=40)  # past compact-full-write-cold-duration, and quiet

    def stop(self) -> float:
        hwm = vm_hwm_mb(self.server.proc.pid)
        self.server.__exit__(None, None, None)
        return hwm


def get(port: int, path: str, conn: http.client.HTTPConnection | None = None) -> bytes:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"GET {path[:200]} -> {resp.status}: {body[:300]!r}")
        return body
    finally:
        if own:
            conn.close()


def load(bodies, targets: dict[str, tuple[int, str]], workers: int = 2) -> dict[str, float]:
    """Send every body to every target (port, path), `workers` connections each; seconds per target."""
    queues = {name: queue.Queue(maxsize=8) for name in targets}
    errors: list[str] = []
    busy = {name: 0.0 for name in targets}

    def work(name: str) -> None:
        port, path = targets[name]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        while (body := queues[name].get()) is not None:
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers={"Content-Type": "text/plain"})
            resp = conn.getresponse()
            data = resp.read()
            busy[name] += time.perf_counter() - t0
            if resp.status not in (200, 204):
                errors.append(f"{name}: {resp.status} {data[:200]!r}")
        conn.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in targets for _ in range(workers)]
    for t in threads:
        t.start()
    for body in bodies:
        for q in queues.values():
            q.put(body)
    for q in queues.values():
        for _ in range(workers):
            q.put(None)
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"{len(errors)} writes failed; first: {errors[0]}")
    return busy


def timed(fn, repeat: int) -> tuple[float, bytes]:
    body = fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        body = fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), body


def questions(end: int, hours: int, days: int) -> list[dict]:
    """The questions, as each system asks them. `end` is an hour boundary."""
    day0, d30 = end - hours * 3600, end - days * 86400 + 2 * 3600
    half = end - min(12, hours) * 3600

    def weir(name, **p):
        return f"/metrics/{name}?" + urllib.parse.urlencode(p)

    def influx(q):
        return "/query?" + urllib.parse.urlencode({"db": "bench", "q": q, "epoch": "s"})

    def vm(q, start, step):
        return "/api/v1/query_range?" + urllib.parse.urlencode({"query": q, "start": start, "end": end - step,
                                                                "step": step})

    w = f"time >= {day0}s AND time < {end}s"
    return [
        {"label": "one host, 12 h, 1 m avg",
         "weir": weir("cpu", start=half, end=end, period=60, stat="avg", **{"dim.host": "h7"}),
         "influx": influx(f"SELECT mean(value) FROM cpu WHERE host='h7' AND time >= {half}s AND time < {end}s "
                          "GROUP BY time(1m)"),
         "vm": vm('avg_over_time(cpu_value{host="h7"}[1m])', half + 60, 60)},
        {"label": f"all hosts, {hours} h, 1 h avg by region",
         "weir": weir("cpu", start=day0, end=end, period=3600, stat="avg", group_by="region"),
         "influx": influx(f"SELECT mean(value) FROM cpu WHERE {w} GROUP BY time(1h), region"),
         "vm": vm("avg by (region) (avg_over_time(cpu_value[1h]))", day0 + 3600, 3600)},
        {"label": f"all hosts, {hours} h, 1 h max by host",
         "weir": weir("cpu", start=day0, end=end, period=3600, stat="max", group_by="host"),
         "influx": influx(f"SELECT max(value) FROM cpu WHERE {w} GROUP BY time(1h), host"),
         "vm": vm("max_over_time(cpu_value[1h])", day0 + 3600, 3600)},
        {"label": f"all hosts, {hours} h, 5 m p99",
         "weir": weir("cpu", start=day0, end=end, period=300, stat="p99"),
         "influx": influx(f"SELECT percentile(value, 99) FROM cpu WHERE {w} GROUP BY time(5m)"),
         "vm": None},  # PromQL has no percentile over all series' raw points
        {"label": f"all hosts, {days} d, 1 h avg by region", "long": True,
         "weir": weir("cpu30d", start=d30, end=end, period=3600, stat="avg", group_by="region"),
         "influx": influx(f"SELECT mean(value) FROM cpu30d WHERE time >= {d30}s AND time < {end}s "
                          "GROUP BY time(1h), region"),
         "vm": vm("avg by (region) (avg_over_time(cpu30d_value[1h]))", d30 + 3600, 3600)},
    ]


def ask(systems: dict, qs: list[dict], repeat: int, results: dict) -> None:
    for q in qs:
        for name, port in systems.items():
            path = q[name]
            if path is None:
                results[(q["label"], name)] = None
                continue
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            ms, body = timed(lambda p=path, c=conn, o=port: get(o, p, c), repeat)
            conn.close()
            results[(q["label"], name)] = ms
            if name == "weir":
                groups = json.loads(body)["groups"]
                assert groups and all(g["datapoints"] for g in groups), f"{q['label']}: Weir answered nothing"
        print(f"  {q['label']}: " + ", ".join(
            f"{n} {results[(q['label'], n)]:.0f} ms" for n in systems if results[(q['label'], n)] is not None),
            flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=1000)
    ap.add_argument("--hours", type=int, default=24)
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--hosts-30d", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--install", action="store_true", help="apt-get install influxdb victoria-metrics first")
    args = ap.parse_args()
    if args.install and (not influxdb.available() or not shutil.which("victoria-metrics")):
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "influxdb", "victoria-metrics"], check=True)
    end = int(time.time()) // 3600 * 3600
    n24 = args.hosts * args.hours * 360
    n30 = args.hosts_30d * (args.days * 1440 - 120)
    rss: dict[str, float] = {}
    disk: dict[str, float] = {}
    results: dict = {}
    qs = questions(end, args.hours, args.days)
    weir_data = tempfile.mkdtemp(prefix="weir-scale-")
    weir = WeirServer(weir_data).__enter__()
    influx, vm = Influx(), Victoria()
    try:
        print(f"loading {n24:,} points ({args.hosts} hosts x {args.hours} h at 10 s) into the three", flush=True)
        targets = {"weir": (weir.port, "/write?precision=s"), "influx": (influx.port, "/write?db=bench&precision=s"),
                   "vm": (vm.port, "/write?precision=s")}
        busy = load(cpu_line_bodies(end, args.hours * 3600, 10, args.hosts), targets)
        print("  load seconds (sum over connections): " + ", ".join(f"{k} {v:.0f}" for k, v in busy.items()))
        rss["weir"] = vm_hwm_mb(weir.proc.pid)
        weir.__exit__(None, None, None)
        took = weir_compact(weir_data)
        disk["weir"] = folder_bytes(Path(weir_data)) / n24
        print(f"  weir migrate (finalise + VACUUM): {took:.0f} s", flush=True)
        influx.compact()
        disk["influx"] = folder_bytes(influx.dir) / n24
        vm.compact()
        disk["vm"] = folder_bytes(vm.dir) / n24
        weir = WeirServer(weir_data).__enter__()
        systems = {"weir": weir.port, "influx": influx.port, "vm": vm.port}
        ask(systems, [q for q in qs if not q.get("long")], args.repeat, results)
        if args.days:
            print(f"loading {n30:,} points ({args.hosts_30d} hosts x {args.days} d at 1 min)", flush=True)
            start30 = end - args.days * 86400 + 2 * 3600
            targets["weir"] = (weir.port, "/write?precision=s")  # the restarted server's port
            load(cpu_line_bodies(end, end - start30, 60, args.hosts_30d, "cpu30d"), targets)
            rss["weir"] = max(rss["weir"], vm_hwm_mb(weir.proc.pid))
            weir.__exit__(None, None, None)
            took = weir_compact(weir_data)
            print(f"  weir migrate: {took:.0f} s", flush=True)
            vm.compact()
            weir = WeirServer(weir_data).__enter__()
            systems["weir"] = weir.port
            ask(systems, [q for q in qs if q.get("long")], args.repeat, results)
        rss["weir"] = max(rss["weir"], vm_hwm_mb(weir.proc.pid))
    finally:
        weir.__exit__(None, None, None)
        rss["influx"] = influx.stop()
        rss["vm"] = vm.stop()
        shutil.rmtree(weir_data, ignore_errors=True)
    report(args, qs, results, rss, disk)


def report(args, qs, results, rss, disk) -> None:
    def ms(v):
        return "–" if v is None else f"{v:,.0f} ms" if v >= 10 else f"{v:.1f} ms"

    print("\n| question | Weir | InfluxDB 1.6 | VictoriaMetrics 1.79 | Weir/Influx | Weir/VM |")
    print("|---|---|---|---|---|---|")
    checks = []
    for q in qs:
        if q.get("long") and not args.days:
            continue
        w, i, v = (results.get((q["label"], n)) for n in ("weir", "influx", "vm"))
        ri = f"{w / i:.2f}" if i else "–"
        rv = f"{w / v:.2f}" if v else "–"
        print(f"| {q['label']} | {ms(w)} | {ms(i)} | {ms(v)} | {ri} | {rv} |")
        if q["label"].startswith("one host"):
            checks.append((f"one host 12 h <= 5 ms: {w:.1f} ms", w <= 5))
        elif q.get("long"):
            checks.append((f"{args.days}-day all hosts hourly < 500 ms: {w:.0f} ms", w < 500))
        else:
            checks.append((f"{q['label']}: <= 0.25x InfluxDB ({ri})", i is not None and w <= 0.25 * i))
            if v:
                checks.append((f"{q['label']}: <= 2x VictoriaMetrics ({rv})", w <= 2 * v))
    print(f"| peak server RSS | {rss['weir']:,.0f} MB | {rss['influx']:,.0f} MB | {rss['vm']:,.0f} MB | "
          f"{rss['weir'] / rss['influx']:.2f} | {rss['weir'] / rss['vm']:.2f} |")
    print(f"| disk per point after compaction | {disk['weir']:.2f} B | {disk['influx']:.2f} B | "
          f"{disk['vm']:.2f} B | {disk['weir'] / disk['influx']:.2f} | {disk['weir'] / disk['vm']:.2f} |")
    checks.append((f"peak RSS <= 2x InfluxDB ({rss['weir'] / rss['influx']:.2f})", rss["weir"] <= 2 * rss["influx"]))
    checks.append((f"<= 2 bytes per point ({disk['weir']:.2f})", disk["weir"] <= 2))
    print("\ntargets (issue 15):")
    for text, ok in checks:
        print(f"  [{'met' if ok else 'MISSED'}] {text}")
    print(f"\n{args.hosts} hosts x {args.hours} h at 10 s, {args.hosts_30d} hosts x {args.days} d at 1 min; "
          f"median of {args.repeat}; command: python bench/query_scale.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
