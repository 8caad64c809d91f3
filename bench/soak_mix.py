"""The adversarial soak (`python bench/soak.py --mix`): ingest while heavy queries, a hanging
webhook and slow clients press on `weir serve`, bounded in time; a report per minute.

    python bench/soak.py --mix [--minutes 3] [--heavy 20] [--series 2000] [--points 1000] [--slow 20] [--rev REV]

What runs at once, for `--minutes`:
- ingest: 2 keep-alive connections send 1,000-point batches of the standard workload's `cpu`;
- heavy queries: `--heavy` clients (20) each ask, again and again, for every point of the
  preloaded `heavy` metric (`--series` x `--points`, 2M points), grouped by a dimension;
  a 503 (the pool is full) is honoured by waiting its Retry-After;
- a hanging webhook: alert rules on `cpu` flip with every batch, and their events go to a
  subscription whose server accepts connections and never answers;
- slow clients: `--slow` sockets that send half a request line, or headers and part of a
  body, and stall until the server cuts them off, then do it again;
- a probe asks `/health` every 50 ms.

Per minute it prints the points acknowledged per second, the p99 (and max) latency of
`/health` and of ingest, the queries answered and refused, the slow clients cut off, and the
server's resident and peak memory. Targets (issue 18): `/health` p99 < 100 ms and ingest never
starved (its max latency stays in seconds, not tens of seconds) while 20 heavy queries run.
"""

from __future__ import annotations

import http.client
import json
import socket
import tempfile
import threading
import time
from pathlib import Path

from workload import SERIES, WeirServer

HEALTH_EVERY = 0.05


class Stats:
    """Latencies and counts of the current minute, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> dict:
        with self.lock:
            old = getattr(self, "cur", None)
            self.cur: dict = {"health": [], "ingest": [], "points": 0, "queries": 0, "busy": 0, "other": 0,
                              "cut": 0}
        return old or {}

    def add(self, key: str, value) -> None:
        with self.lock:
            if isinstance(self.cur[key], list):
                self.cur[key].append(value)
            else:
                self.cur[key] += value


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def hanging_webhook() -> tuple[str, socket.socket]:
    """A server that accepts connections and never answers: a webhook that hangs."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(512)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                return
            held.append(conn)

    threading.Thread(target=accept, daemon=True).start()
    return f"http://127.0.0.1:{srv.getsockname()[1]}/hook", srv


def preload(port: int, series: int, points: int) -> None:
    """`heavy{s=..., g=...}`: `points` one-second points per series, ending a minute ago."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    end = int(time.time()) - 60
    per_batch = max(1, 10_000 // series)
    for k in range(0, points, per_batch):
        batch = [{"name": "heavy", "value": float(i + j), "timestamp": end - points + k + j,
                  "dimensions": {"s": f"s{i}", "g": f"g{i % 10}"}}
                 for j in range(min(per_batch, points - k)) for i in range(series)]
        for at in range(0, len(batch), 10_000):
            conn.request("POST", "/metrics", body=json.dumps({"metrics": batch[at:at + 10_000]}),
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit(f"preload failed: {r.status}")
    conn.close()


def run(args) -> None:
    hook, hook_sock = hanging_webhook()
    folder = Path(tempfile.mkdtemp(prefix="weir-soak-"))
    cfg = folder / "weir.toml"
    cfg.write_text(f'[alerts]\nmin_interval = 0.5\n\n[[subscriptions]]\nid = "hangs"\nurl = "{hook}"\ntimeout = 10\n')
    stats = Stats()
    stop = [0.0]
    extra: tuple[str, ...] = ("--config", str(cfg), "--no-watch")
    src = None
    if args.rev:  # an older revision, for the before figures: without the options it lacks
        from baseline import extract

        _, src = extract(args.rev)
    else:
        extra += ("--body-timeout", "10", "--header-timeout", "5")
    with WeirServer(data_dir=str(folder / "data"), extra=extra, src=src) as server:
        port = server.port
        t0 = time.monotonic()
        preload(port, args.series, args.points)
        print(f"preloaded {args.series * args.points:,} points in {time.monotonic() - t0:.0f} s", flush=True)
        api = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for i in range(10):  # rules that flip with every batch: a stream of events for the hanging webhook
            rule = {"name": f"flip{i}", "metric": "cpu", "threshold": 50, "statistic": "max", "period": 60,
                    "group_by": ["host"], "dimensions": {"region": f"r{i % 7}"}}
            api.request("POST", "/alerts", body=json.dumps(rule), headers={"Content-Type": "application/json"})
            r = api.getresponse()
            r.read()
        api.close()
        stop[0] = time.monotonic() + args.minutes * 60
        threads = [threading.Thread(target=f, args=(port, stats, stop), daemon=True)
                   for f in [_ingest, _ingest, _health] + [_heavy] * args.heavy + [_slow] * args.slow]
        for t in threads:
            t.start()
        _report(server, stats, stop, args)
        for t in threads:
            t.join(timeout=120)
    hook_sock.close()


def _report(server, stats: Stats, stop: list[float], args) -> None:
    from soak import memory_mb

    minute, peak = 0, 0.0
    worst_health, worst_ingest, rates = 0.0, 0.0, []
    while time.monotonic() < stop[0]:
        t_start = time.monotonic()
        time.sleep(min(60.0, max(0.1, stop[0] - time.monotonic())))
        cur = stats.reset()
        elapsed = time.monotonic() - t_start
        minute += 1
        rss, hwm = memory_mb(server.proc.pid)
        peak = max(peak, hwm)
        h, i = cur["health"], cur["ingest"]
        rate = cur["points"] / elapsed
        rates.append(rate)
        worst_health = max(worst_health, p99(h))
        worst_ingest = max(worst_ingest, max(i, default=0.0))
        print(f"minute {minute}: ingest {rate:,.0f} points/s (p99 {p99(i) * 1000:.0f} ms, max "
              f"{max(i, default=float('nan')) * 1000:.0f} ms); /health p99 {p99(h) * 1000:.1f} ms "
              f"(max {max(h, default=float('nan')) * 1000:.0f} ms, {len(h)} probes); queries {cur['queries']} "
              f"answered, {cur['busy']} refused busy, {cur['other']} other; slow clients cut off {cur['cut']}; "
              f"rss {rss:.0f} MB, peak {hwm:.0f} MB", flush=True)
    print(f"weir soak --mix ({args.rev or 'working tree'}): {args.heavy} heavy query clients, "
          f"{args.slow} slow clients, a hanging webhook; "
          f"/health p99 (worst minute) {worst_health * 1000:.1f} ms, slowest ingest request "
          f"{worst_ingest * 1000:.0f} ms, slowest ingest minute {min(rates, default=0):,.0f} points/s, "
          f"peak memory {peak:.0f} MB")


def _ingest(port: int, stats: Stats, stop: list[float]) -> None:
    from soak import PLACEHOLDER, template

    body = template(1)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    flip = 0
    while time.monotonic() < stop[0]:
        flip += 1
        payload = body.replace(str(PLACEHOLDER).encode(), str(int(time.time()) - 1).encode())
        if flip % 2:  # every other batch breaches the rules' threshold: states flip, events flow
            payload = payload.replace(b'"value": ', b'"value": 1000')
        t = time.monotonic()
        conn.request("POST", "/metrics", body=payload, headers={"Content-Type": "application/json"})
        r = conn.getresponse()
        r.read()
        stats.add("ingest", time.monotonic() - t)
        if r.status == 200:
            stats.add("points", SERIES)


def _health(port: int, stats: Stats, stop: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    while time.monotonic() < stop[0]:
        t = time.monotonic()
        conn.request("GET", "/health")
        conn.getresponse().read()
        stats.add("health", time.monotonic() - t)
        time.sleep(HEALTH_EVERY)


def _heavy(port: int, stats: Stats, stop: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while time.monotonic() < stop[0]:
        conn.request("GET", "/metrics/heavy?start=-1d&period=3600&stat=avg,max,count&group_by=g")
        r = conn.getresponse()
        r.read()
        if r.status == 200:
            stats.add("queries", 1)
        elif r.status == 503:
            stats.add("busy", 1)
            time.sleep(float(r.getheader("retry-after") or 1))
        else:
            stats.add("other", 1)
            time.sleep(1)


def _slow(port: int, stats: Stats, stop: list[float]) -> None:
    n = 0
    while time.monotonic() < stop[0]:
        n += 1
        s = socket.create_connection(("127.0.0.1", port), timeout=120)
        try:
            if n % 2:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: ")  # half a head, then nothing
            else:
                s.sendall(b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 6000000\r\n\r\n" + b" " * 100_000)
            while s.recv(65536):  # until the server cuts it off
                pass
            stats.add("cut", 1)
        except OSError:
            stats.add("cut", 1)
        finally:
            s.close()
