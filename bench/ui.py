"""The web UI's weight and load times, in Debian's chromium against a seeded `weir serve`.

    python bench/ui.py [--hosts 500] [--rounds 5]

Seeds `cpu` with --hosts series (one point every 10 s for the last whole hour), then for each
page opens it in a fresh browser context (cold: nothing cached) and again in the same context
(warm: the hashed assets come from the cache), and reports:

- bytes: what the browser received for the UI's own files (HTML, JS, CSS; gzipped as sent),
  and for the page's data requests, from the Resource Timing entries;
- ms: navigation timing (response end, DOMContentLoaded, load) and "ready", when the page's
  data is drawn (its `window.__weir` marker), medians of --rounds.

The explore page draws `avg by (host) (cpu)` (or Weir's own `avg(cpu) by (host)`), so with
--hosts 500 it measures a chart of 500 series. Needs the UI built (`make ui`), chromium and the
playwright package (dev extra).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workload import WeirServer, send_all  # noqa: E402

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-quic", "--disable-sync"]

TIMING = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const res = performance.getEntriesByType('resource');
  const ui = res.filter(r => r.initiatorType !== 'fetch' && r.initiatorType !== 'xmlhttprequest');
  const data = res.filter(r => r.initiatorType === 'fetch' || r.initiatorType === 'xmlhttprequest');
  const sum = (xs, k) => xs.reduce((n, r) => n + (r[k] || 0), 0);
  return {
    response_end: nav.responseEnd, dom_content_loaded: nav.domContentLoadedEventEnd, load: nav.loadEventEnd,
    ui_bytes: nav.encodedBodySize + sum(ui, 'encodedBodySize'),
    ui_bytes_decoded: nav.decodedBodySize + sum(ui, 'decodedBodySize'),
    ui_transferred: nav.transferSize + sum(ui, 'transferSize'),
    data_bytes: sum(data, 'encodedBodySize'), requests: res.length + 1,
  };
}"""


def seed(port: int, hosts: int, end: int) -> int:
    start = end - 3600
    bodies, batch = [], []
    for h in range(hosts):
        for i in range(360):
            batch.append({"name": "cpu", "value": round(30 + (h % 40) + (i % 60) / 2, 1), "timestamp": start + i * 10,
                          "dimensions": {"host": f"h{h:04d}", "region": f"r{h % 10}"}})
            if len(batch) == 10_000:
                bodies.append(json.dumps({"metrics": batch}).encode())
                batch = []
    if batch:
        bodies.append(json.dumps({"metrics": batch}).encode())
    send_all(port, "/metrics", bodies, "application/json", connections=2)
    return hosts * 360


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=500)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    end = int(time.time()) // 3600 * 3600
    with WeirServer() as weir:
        points = seed(weir.port, args.hosts, end)
        caps = json.loads(__import__("urllib.request").request.urlopen(weir.url + "/openapi.json").read())["paths"]
        promql = "/api/v1/query_range" in caps
        query = "avg by (host) (cpu)" if promql else "avg(cpu) by (host)"
        pages = {
            "metrics": ("/ui/", "window.__weir.metrics && window.__weir.metrics.total > 0"),
            "explore": (f"/ui/explore?start={end - 3600}&end={end}&query={urllib.parse.quote(query)}",
                        "window.__weir.explore && window.__weir.explore.status === 'done' && !!window.__weir.chart"),
            "alerts": ("/ui/alerts", "Array.isArray(window.__weir.alerts)"),
            "files": ("/ui/files", "!!window.__weir.files"),
            "status": ("/ui/status", "!!window.__weir.status"),
        }
        print(f"seeded {points} points in {args.hosts} series; explore draws {query!r} "
              f"({'PromQL' if promql else 'Weir query API'})")
        rows = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            for name, (path, ready) in pages.items():
                for kind in ("cold", "warm"):
                    samples = []
                    for _ in range(args.rounds):
                        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
                        page = ctx.new_page()
                        if kind == "warm":  # the same context once before: the assets are cached
                            page.goto(weir.url + path)
                            page.wait_for_function(f"() => !!window.__weir && ({ready})", timeout=60_000)
                        t0 = time.perf_counter()
                        page.goto(weir.url + path)
                        page.wait_for_function(f"() => !!window.__weir && ({ready})", timeout=60_000, polling=10)
                        ready_ms = (time.perf_counter() - t0) * 1000
                        t = page.evaluate(TIMING)
                        t["ready"] = ready_ms
                        if name == "explore":  # the page's own marks: answer parsed, plot built
                            marks = page.evaluate("() => [window.__weir.explore.asked_ms,"
                                                  " window.__weir.explore.answered_ms, window.__weir.chart.drawn_ms]")
                            t["answer"], t["draw"] = marks[1] - marks[0], marks[2] - marks[1]
                        samples.append(t)
                        ctx.close()
                    med = {k: statistics.median(s[k] for s in samples) for k in samples[0]}
                    rows.append((name, kind, med))
            browser.close()
    print(f"\n{'page':<9} {'load':<5} {'UI bytes (gzip)':>16} {'(decoded)':>10} {'data bytes':>11} {'reqs':>5} "
          f"{'response':>9} {'DOMready':>9} {'load':>7} {'ready':>7}   (ms, median of {args.rounds})")
    for name, kind, m in rows:
        print(f"{name:<9} {kind:<5} {int(m['ui_bytes']):>16,} {int(m['ui_bytes_decoded']):>10,} "
              f"{int(m['data_bytes']):>11,} {int(m['requests']):>5} {m['response_end']:>9.1f} "
              f"{m['dom_content_loaded']:>9.1f} {m['load']:>7.1f} {m['ready']:>7.1f}")
    for _name, kind, m in rows:
        if "answer" in m:
            print(f"explore {kind}: query sent to answer parsed {m['answer']:.0f} ms, answer to plot built "
                  f"{m['draw']:.0f} ms")


if __name__ == "__main__":
    main()
