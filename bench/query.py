"""Query latency: one series, 7 days at 10 s (60,480 points), over HTTP against `weir serve`.

    python bench/query.py [--repeat 20]

Ingests the week, restarts the server (a clean stop packs the points into chunks, as
they would be after a few minutes of running), then times `period=1h` and `period=1m`
with `stat=avg,max,p99`. Also reports how long the restarted server took to answer
/health. Prints milliseconds (median and p90 of the repeats) last.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import time
import urllib.parse

from workload import WeirServer, send_all

DAYS, STEP = 7, 10


def ingest_week(port: int, end: int) -> int:
    n = DAYS * 86400 // STEP
    start = end - n * STEP
    pts = [{"name": "week", "value": (i % 360) / 3.6, "timestamp": start + i * STEP, "dimensions": {"host": "h0"}}
           for i in range(n)]
    bodies = [json.dumps({"metrics": pts[i : i + 10_000]}).encode() for i in range(0, n, 10_000)]
    send_all(port, "/metrics", bodies, "application/json", connections=1)
    return n


def time_query(port: int, params: dict, repeat: int) -> tuple[list[float], dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port)
    path = "/metrics/week?" + urllib.parse.urlencode(params)
    times, body = [], {}
    for _ in range(repeat + 2):
        t0 = time.perf_counter()
        conn.request("GET", path)
        resp = conn.getresponse()
        raw = resp.read()
        times.append((time.perf_counter() - t0) * 1000)
        assert resp.status == 200, raw[:300]
        body = json.loads(raw)
    return times[2:], body  # the first two warm caches


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    end = int(time.time()) // 3600 * 3600
    with tempfile.TemporaryDirectory(prefix="weir-query-") as data:
        with WeirServer(data) as server:
            n = ingest_week(server.port, end)
        with WeirServer(data) as server:
            startup = server.startup_seconds
            results = {}
            for period in ("1h", "1m"):
                params = {"start": str(end - DAYS * 86400), "end": str(end), "period": period, "stat": "avg,max,p99"}
                times, body = time_query(server.port, params, args.repeat)
                count = sum(len(g["datapoints"]) for g in body["groups"])
                results[period] = (statistics.median(times), statistics.quantiles(times, n=10)[-1], count)
    print(f"{n} points; restarted server answered /health after {startup * 1000:.0f} ms")
    for period, (med, p90, count) in results.items():
        print(f"period={period}: {count} periods, median {med:.1f} ms, p90 {p90:.1f} ms")
    print(
        f"weir query 7d: period=1h {results['1h'][0]:.1f} ms, period=1m {results['1m'][0]:.1f} ms (median of "
        f"{args.repeat}; targets 20 and 100 ms)"
    )


if __name__ == "__main__":
    main()
