"""What alert rules cost ingest: the standard workload with no rules, then with rules on `cpu`.

    python bench/alerts_ingest.py [--rounds 3] [--rules 10]

Each round runs `weir serve` without rules and then with RULES rules on the ingested
metric (half watching the whole metric, half `group_by: ["host"]`, i.e. 1,000 states each),
so the two are measured under the same machine load. Evaluation runs in the server's
background thread while ingest goes on. Prints points/s for both and, last, the ratio.
"""

from __future__ import annotations

import argparse
import json
import time
import urllib.request

from workload import BATCHES, SERIES, WeirServer, json_bodies, send_all


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def run(bodies: list[bytes], rules: int) -> tuple[float, int]:
    with WeirServer() as server:
        for i in range(rules):
            spec = {"name": f"bench-{i}", "metric": "cpu", "threshold": 50 + i,
                    "statistic": ["avg", "max", "p99"][i % 3],
                    "evaluation_periods": 3, "datapoints_to_alarm": 2}
            if i % 2:
                spec["group_by"] = ["host"]
            post(server.url + "/alerts?allow_unknown_metric=true", spec)
        elapsed = send_all(server.port, "/metrics", bodies, "application/json")
        time.sleep(3 if rules else 0)  # let the last evaluation pass finish (not timed)
        with urllib.request.urlopen(server.url + "/alerts/events?limit=1000") as r:
            events = len(json.load(r)["events"])
        return len(bodies) * SERIES / elapsed, events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rules", type=int, default=10)
    args = ap.parse_args()
    bodies = json_bodies(BATCHES)
    best_plain = best_rules = 0.0
    for r in range(1, args.rounds + 1):
        plain, _ = run(bodies, 0)
        with_rules, events = run(bodies, args.rules)
        best_plain, best_rules = max(best_plain, plain), max(best_rules, with_rules)
        print(f"round {r}: no rules {plain:,.0f} points/s, {args.rules} rules {with_rules:,.0f} points/s "
              f"({events} alert events), ratio {with_rules / plain:.2f}", flush=True)
    print(f"ingest with {args.rules} alert rules: {best_rules:,.0f} points/s vs {best_plain:,.0f} without, "
          f"ratio {best_rules / best_plain:.2f} (best of {args.rounds})")


if __name__ == "__main__":
    main()
