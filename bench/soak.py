"""Soak: the standard workload without pause for N minutes; throughput and memory per minute.

    python bench/soak.py [--minutes 10] [--batch 10000]
    python bench/soak.py --mix [--minutes 3]   # under heavy queries, a hanging webhook, slow clients

`--mix` is the adversarial soak of `soak_mix.py` (its docstring says what runs).

Four keep-alive connections send batches (the 1,000 series of the standard workload at
`batch / 1000` instants one second apart; 1,000 points by default, 10,000 for the largest
batch a request may carry) to `weir serve` for the whole run. Every minute it prints the
points acknowledged in that minute and the server's resident and peak memory (VmRSS /
VmHWM), so a leak or a stall shows as a trend.
"""

from __future__ import annotations

import argparse
import http.client
import json
import threading
import time

from workload import SERIES, WeirServer


def memory_mb(pid: int) -> tuple[float, float]:
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


PLACEHOLDER = 1_000_000_000  # timestamps PLACEHOLDER + k in the template are replaced per batch


def template(instants: int) -> bytes:
    dims = [{"host": f"h{h}", "region": f"r{h % 7}"} for h in range(SERIES)]
    points = [
        {"name": "cpu", "value": h % 100, "timestamp": PLACEHOLDER + k, "dimensions": dims[h]}
        for k in range(instants)
        for h in range(SERIES)
    ]
    return json.dumps({"metrics": points}).encode()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--batch", type=int, default=SERIES, choices=[SERIES * k for k in range(1, 11)])
    ap.add_argument("--mix", action="store_true", help="ingest under heavy queries, a hanging webhook, slow clients")
    ap.add_argument("--heavy", type=int, default=20, help="--mix: heavy query clients")
    ap.add_argument("--series", type=int, default=2000, help="--mix: series of the preloaded metric")
    ap.add_argument("--points", type=int, default=1000, help="--mix: points per preloaded series")
    ap.add_argument("--slow", type=int, default=20, help="--mix: slow clients")
    ap.add_argument("--rev", default=None, help="--mix: serve this older git revision instead")
    args = ap.parse_args()
    if args.mix:
        import soak_mix

        soak_mix.run(args)
        return
    instants = args.batch // SERIES
    body = template(instants)
    base = int(time.time()) - 3 * 86400
    counter = iter(range(10**9))
    lock = threading.Lock()
    acked = [0]
    stop = time.monotonic() + args.minutes * 60
    errors: list[str] = []

    def worker(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop and not errors:
            with lock:
                ts = base + next(counter) * instants
            payload = body
            for k in range(instants):
                payload = payload.replace(str(PLACEHOLDER + k).encode(), str(ts + k).encode())
            conn.request("POST", "/metrics", body=payload, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                errors.append(f"{resp.status} {data[:200]!r}")
                return
            with lock:
                acked[0] += args.batch

    with WeirServer() as server:
        threads = [threading.Thread(target=worker, args=(server.port,)) for _ in range(args.connections)]
        for t in threads:
            t.start()
        minute, last, last_t = 0, 0, time.monotonic()
        peak = 0.0
        rates = []
        while any(t.is_alive() for t in threads):
            time.sleep(min(60.0, max(0.1, stop - time.monotonic())))
            minute += 1
            done, now = acked[0], time.monotonic()
            rss, hwm = memory_mb(server.proc.pid)
            peak = max(peak, hwm)
            rate = (done - last) / (now - last_t)
            last_t = now
            rates.append(rate)
            print(f"minute {minute}: {rate:,.0f} points/s, rss {rss:.0f} MB, peak {hwm:.0f} MB", flush=True)
            last = done
            if time.monotonic() >= stop:
                break
        for t in threads:
            t.join()
    if errors:
        raise SystemExit(f"requests failed: {errors[0]}")
    mean = acked[0] / (args.minutes * 60)
    print(f"weir soak: {acked[0]:,} points in {args.minutes:g} min, mean {mean:,.0f} points/s, "
          f"slowest minute {min(rates):,.0f} points/s, peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
