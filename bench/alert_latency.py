"""Alert latency: from the answer to a breaching POST /metrics to the webhook's receipt.

    python bench/alert_latency.py [--tries 20]

A `weir serve` with one webhook subscription (a real HTTP server on loopback) and one rule
(`max > 50`, one period). Each try posts a breaching point, then a good one in a new
period, and times the ALARM notification. Prints the median and worst, last.
"""

from __future__ import annotations

import argparse
import http.server
import json
import statistics
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from workload import WeirServer

received: dict[str, float] = {}


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body["state"] == "ALARM":
            received[body["event_id"]] = time.perf_counter()
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tries", type=int, default=20)
    args = ap.parse_args()
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    tmp = tempfile.mkdtemp(prefix="weir-latency-")
    cfg = Path(tmp) / "weir.toml"
    cfg.write_text(f'[[subscriptions]]\nid = "bench"\nurl = "http://127.0.0.1:{hook.server_address[1]}/"\n')
    server = WeirServer(str(Path(tmp) / "data"))
    import subprocess
    import sys

    from workload import ROOT, wait_http

    server.proc = subprocess.Popen(
        [sys.executable, "-m", "weir", "serve", "--port", str(server.port), "--data-dir", server.data_dir,
         "--config", str(cfg)], env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_http(server.url + "/health")
        post(server.url + "/alerts?allow_unknown_metric=true",
             {"name": "latency", "metric": "lat", "threshold": 50, "statistic": "max", "period": 1})
        latencies = []
        for _ in range(args.tries):
            before = set(received)
            post(server.url + "/metrics", {"name": "lat", "value": 99})
            t0 = time.perf_counter()
            deadline = t0 + 10
            while set(received) == before and time.perf_counter() < deadline:
                time.sleep(0.0005)
            new = set(received) - before
            if not new:
                raise SystemExit("no ALARM notification within 10 s")
            latencies.append((received[new.pop()] - t0) * 1000)
            time.sleep(1.1)  # a new one-second period...
            post(server.url + "/metrics", {"name": "lat", "value": 1})  # ...that is OK again
            time.sleep(1.1)
        print(f"alert latency (POST answered -> webhook received): median {statistics.median(latencies):.1f} ms, "
              f"worst {max(latencies):.1f} ms over {args.tries} tries")
    finally:
        server.proc.terminate()
        server.proc.wait(30)
        hook.shutdown()


if __name__ == "__main__":
    main()
