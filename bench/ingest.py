"""Ingest throughput of `weir serve` on the standard workload, beside InfluxDB 1.x.

    python bench/ingest.py [--format json|influx|otlp|remote-write] [--rounds 3] [--install-influxdb] [--baseline REV]

`--format` picks what Weir is sent: `json` (`POST /metrics`, the default), `influx` (the line
protocol at `POST /write?precision=s`: byte for byte the payloads InfluxDB gets), or `otlp`
(OTLP protobuf at `POST /v1/metrics`). Each round runs Weir and then InfluxDB (when `influxd`
is installed) on the same points, so the ratio is measured under the same machine load.
`--baseline REV` also serves git revision REV (bench/baseline.py) each round, right before or
after the working tree (the order alternates by round: whichever runs second met a warmer page
cache and whatever load came and went), so the two see the same machine load. Prints points/s
for each and, last, the ratio of the best rounds and the median of the rounds' ratios (on a
shared machine one round's burst of load moves a best-of ratio by 10-20%), and the server's CPU
microseconds per point of each (median of the rounds), which that load moves far less. `--format
remote-write` runs `bench/remote_write.py` instead: Weir beside VictoriaMetrics and
Prometheus' receiver on the same remote write payloads.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import urllib.request

import influxdb
from workload import BATCHES, SERIES, WeirServer, cpu_seconds, json_bodies, line_bodies, otlp_bodies, send_all

# format → (path, content type) Weir is sent
FORMATS = {
    "json": ("/metrics", "application/json"),
    "influx": ("/write?precision=s", "text/plain"),
    "otlp": ("/v1/metrics", "application/x-protobuf"),
}


def run_weir(bodies: list[bytes], fmt: str = "json", src=None, cpu: list[float] | None = None) -> float:
    """Points/s; the server's CPU microseconds per point are appended to `cpu`, if given."""
    path, ctype = FORMATS[fmt]
    with WeirServer(src=src) as server:
        before = cpu_seconds(server.proc.pid)
        elapsed = send_all(server.port, path, bodies, ctype)
        if cpu is not None:
            cpu.append((cpu_seconds(server.proc.pid) - before) / (len(bodies) * SERIES) * 1e6)
        with urllib.request.urlopen(server.url + "/metrics") as r:
            listed = json.load(r)["metrics"]
        assert listed == [{"name": "cpu", "series": SERIES}], listed
        return len(bodies) * SERIES / elapsed


def run_influx(bodies: list[bytes]) -> float:
    with influxdb.InfluxServer() as server:
        elapsed = send_all(server.port, "/write?db=bench&precision=s", bodies, "text/plain")
        assert server.count() == len(bodies) * SERIES
        return len(bodies) * SERIES / elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--format", choices=[*sorted(FORMATS), "remote-write"], default="json", help="what Weir is sent")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--install-influxdb", action="store_true", help="apt-get install influxdb first")
    ap.add_argument("--baseline", metavar="REV", help="also serve git revision REV each round, for a same-load ratio")
    ap.add_argument("--batches", type=int, default=BATCHES, help="remote-write: points per receiver / 1,000")
    args = ap.parse_args()
    if args.format == "remote-write":
        import remote_write

        remote_write.main(args.rounds, args.batches)
        return
    if args.install_influxdb and not influxdb.available():
        influxdb.install()
    line = line_bodies(BATCHES)
    makers = {"json": json_bodies, "influx": lambda _n: line, "otlp": otlp_bodies}
    weir_bodies = makers[args.format](BATCHES)
    if not influxdb.available():
        line = None
    base = None
    if args.baseline:
        import baseline

        base = baseline.extract(args.baseline)
    best_weir = best_influx = best_base = 0.0
    ratios: list[float] = []
    cpu_weir: list[float] = []  # the server's CPU microseconds per point, each round
    cpu_base: list[float] = []
    for r in range(1, args.rounds + 1):
        if base is not None and r % 2 == 0:  # the baseline first on even rounds
            b = run_weir(weir_bodies, args.format, base[1], cpu_base)
            w = run_weir(weir_bodies, args.format, None, cpu_weir)
        else:
            w = run_weir(weir_bodies, args.format, None, cpu_weir)
            b = run_weir(weir_bodies, args.format, base[1], cpu_base) if base is not None else 0.0
        best_weir = max(best_weir, w)
        msg = f"round {r}: weir {w:,.0f} points/s"
        if base is not None:
            best_base = max(best_base, b)
            ratios.append(w / b)
            msg += f", weir at {base[0]} {b:,.0f} points/s ({w / b:.2f}x)"
        if line is not None:
            i = run_influx(line)
            best_influx = max(best_influx, i)
            msg += f", influxdb {i:,.0f} points/s, ratio {w / i:.2f}"
        print(msg, flush=True)
    if base is not None:
        print(f"weir at {base[0]} ({args.format}): {best_base:,.0f} points/s; the working tree is "
              f"{best_weir / best_base:.2f}x that (best of {args.rounds}; median of the rounds' ratios "
              f"{statistics.median(ratios):.2f}); server CPU per point, median: {statistics.median(cpu_weir):.2f} us, "
              f"at {base[0]} {statistics.median(cpu_base):.2f} us (less sensitive to the machine's other load)")
    if line is None:
        print("influxd not installed (python bench/ingest.py --install-influxdb); no ratio", file=sys.stderr)
        print(f"weir ingest ({args.format}): {best_weir:,.0f} points/s (best of {args.rounds})")
    else:
        same = " on the same line-protocol payloads" if args.format == "influx" else ""
        print(
            f"weir ingest ({args.format}): {best_weir:,.0f} points/s, influxdb {best_influx:,.0f} points/s"
            f"{same}, ratio weir/influxdb {best_weir / best_influx:.2f} (best of {args.rounds})"
        )


if __name__ == "__main__":
    main()
