"""Export throughput: one hour of 1,000 series at 10 s (360,000 points) to a local folder.

    python bench/export.py [--rounds 3] [--surrounding-hours 0] [--parquet]

Measures `ExportService.export_hour` (scan, render, gzip, write, manifest) with the hour in
the in-memory head (as when the scheduler runs minutes after the hour closes) and after a
flush into chunks. `--surrounding-hours N` first stores N more hours before and after it,
to show that the cost follows the hour's data, not the store's. Prints rows/s, the
JSON-lines figure from chunks last.
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from weir.backends.folder.objects import FolderObjectStore
from weir.backends.sqlite.metrics import SqliteMetricStore
from weir.metrics.export import render as export
from weir.metrics.export.service import ExportService
from weir.metrics.ports import PointBatch
from weir.metrics.series import make_series
from weir.metrics.timeutil import NS

SERIES = 1_000
STEP_S = 10
H = export.HOUR_NS


def fill(store: SqliteMetricStore, hour: int, series: list, first: bool) -> None:
    rnd = random.Random(hour)
    for t in range(hour, hour + H, STEP_S * NS):
        batch = PointBatch(
            series_ids=[s.id for s in series], timestamps=[t] * len(series),
            values=[round(rnd.uniform(0, 100), 3) for _ in series],
            new_series=list(series) if first and t == hour else [],
        )
        store.append(batch)


def best(service: ExportService, hour: int, rounds: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        rows = service.export_hour(hour).rows
        times.append(time.perf_counter() - t0)
    return min(times), rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--surrounding-hours", type=int, default=0)
    ap.add_argument("--parquet", action="store_true", help="also measure Parquet (needs pyarrow)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="weir-bench-export-"))
    try:
        hour = export.floor_hour(time.time_ns()) - 2 * H
        store = SqliteMetricStore(tmp / "metrics.db", retention_seconds=90 * 86400, flush_points=10**9,
                                  flush_seconds=10**9)
        series = [make_series("cpu", {"host": f"h{i}", "region": f"r{i % 7}"}, "gauge", None) for i in range(SERIES)]
        fill(store, hour, series, True)
        for k in range(1, args.surrounding_hours + 1):
            fill(store, hour - k * H, series, False)
            if hour + k * H < hour + 2 * H:
                fill(store, hour + k * H, series, False)
        objects = FolderObjectStore(tmp / "exports")
        formats = ["jsonl", "parquet"] if args.parquet else ["jsonl"]
        results = []
        for where in ("head", "chunks"):
            if where == "chunks":
                store.flush()
            t0 = time.perf_counter()
            n = sum(len(ts) for _, ts, _ in store.scan(hour, hour + H))
            scan_s = time.perf_counter() - t0
            print(f"scan from {where}: {n:,} points in {scan_s * 1000:.0f} ms ({n / scan_s:,.0f} points/s)",
                  flush=True)
            for fmt in formats:
                seconds, rows = best(ExportService(store, objects, fmt=fmt), hour, args.rounds)
                assert rows == SERIES * 3600 // STEP_S, rows
                size = sum((tmp / "exports" / k).stat().st_size for k in objects.list(export.hour_prefix(hour)))
                results.append((fmt, where, rows / seconds))
                print(f"export {fmt} from {where}: {rows:,} rows in {seconds:.2f}s, {rows / seconds:,.0f} rows/s, "
                      f"{size / 1e6:.1f} MB", flush=True)
        store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rate = next(r for fmt, where, r in results if fmt == "jsonl" and where == "chunks")
    print(f"weir export: {rate:,.0f} rows/s (jsonl.gz, 1,000 series x 360 points from chunks, best of {args.rounds})")


if __name__ == "__main__":
    main()
