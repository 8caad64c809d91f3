"""Queries over many series and days on the DynamoDB store (moto): rollups against raw points.

    python bench/query_rollups.py [--series 100] [--days 7] [--step 10] [--repeat 3]

Writes `--series` series (`cpu`, host=h0..) every `--step` seconds for `--days` days into
the DynamoDB store on a moto server (one append per hour, as hours of ingest would), then
compacts every hour (as the `stream` function does), which writes chunks and per-minute
rollups. Then times the same queries through the query service twice: over the store as
it is (rollups for compacted hours) and over the same store with rollups hidden (the raw
path, what every query did before rollups). Integer values, so both answers must be
equal (checked). Counts DynamoDB requests and read units per query (strongly consistent:
4 KB a unit, from the items' sizes, as bench/aws_cost.py does). moto is far slower than
DynamoDB, so the milliseconds say more about the work on the reader's side (decoding and
aggregating) than about DynamoDB's latency; the read units are what DynamoDB would bill.
Prints the ratio raw/rollups last.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from pathlib import Path

from aws_cost import Clock, Meter
from workload import moto_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))


class RawOnly:
    """The store without `read_rollups`: the query service then reads raw points only."""

    def __init__(self, store) -> None:
        self._store = store

    def __getattr__(self, name):
        if name in ("read_rollups", "read_records", "record_levels"):
            raise AttributeError(name)
        return getattr(self._store, name)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=100)
    ap.add_argument("--days", type=int, default=7)
    ap.add_argument("--step", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import boto3

    from weir.backends.aws.metrics import DynamoMetricStore
    from weir.backends.aws.tables import create_tables
    from weir.metrics.ports import PointBatch
    from weir.metrics.query.service import QueryService
    from weir.metrics.series import make_series
    from weir.metrics.timeutil import NS

    with moto_server() as url:
        client = boto3.client("dynamodb", endpoint_url=url)
        suffix = uuid.uuid4().hex[:8]
        tables = f"bench-m-{suffix}", f"bench-s-{suffix}"
        create_tables(client, metrics_table=tables[0], series_table=tables[1])
        end = int(time.time()) // 3600 * 3600 - 3600  # the last hour written is an hour ago
        start = end - args.days * 86400
        clock = Clock(start + 1)
        store = DynamoMetricStore(client, metrics_table=tables[0], series_table=tables[1],
                                  retention_seconds=30 * 86_400, clock=clock)
        series = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(args.series)]
        t0 = time.perf_counter()
        new = list(series)
        for hour in range(start, end, 3600):
            b = PointBatch(new_series=new)
            new = []
            for t in range(hour, hour + 3600, args.step):
                for i, s in enumerate(series):
                    b.series_ids.append(s.id)
                    b.timestamps.append(t * NS)
                    b.values.append(float((t // args.step + i) % 1000))
            clock.t = hour + 3600 - 1
            store.append(b)
        written = time.perf_counter() - t0
        clock.t = end + 3600  # every hour closed and past the grace
        t0 = time.perf_counter()
        hours = sum(1 for r in store.compact_all_due() if r.compacted)
        compacted = time.perf_counter() - t0
        n = args.series * args.days * 86400 // args.step
        print(f"{n:,} points ({args.series} series x {args.days} days every {args.step} s) written in "
              f"{written:.0f} s, {hours} hours compacted in {compacted:.0f} s (moto)")

        meter = Meter(client)
        results = {}
        queries = [{"start": str(start), "end": str(end), "period": "3600", "stat": "avg,max"},
                   {"start": str(start), "end": str(end), "period": "60", "stat": "avg,max"}]
        for label, target in (("rollups", store), ("raw", RawOnly(store))):
            svc = QueryService(target, 30 * 86_400, clock)
            for q in queries:
                times, answer = [], None
                meter.phase = f"{label} {q['period']}"
                before = dict(svc.read_counts)
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    answer = svc.query("cpu", q)
                    times.append((time.perf_counter() - t0) * 1000)
                per_query = {k: (v - before[k]) // args.repeat for k, v in svc.read_counts.items()}
                results[(label, q["period"])] = (statistics.median(times), answer, per_query)
        store.close()

    for period in ("3600", "60"):
        a, b = results[("rollups", period)], results[("raw", period)]
        assert a[1].groups == b[1].groups, f"period {period}: the rollup answer differs from the raw one"
    print(f"query (all series, {args.days} days, stat=avg,max)  median ms   requests  RRU per query")
    for (label, period), (ms, _, _) in results.items():
        phase = f"{label} {period}"
        reqs = sum(c for (p, _), c in meter.requests.items() if p == phase) / args.repeat
        rru = meter.rcu[phase] / args.repeat
        print(f"  {label:8} period={period:5}                  {ms:9.0f}   {reqs:8.0f}  {rru:8.0f}")
    counts = results[("rollups", "60")][2]
    print(f"per query: rollups {counts['rollup_minutes']:,} minute rollups standing for "
          f"{counts['rollup_points']:,} points (+{counts['raw_points']:,} raw points); "
          f"raw path {results[('raw', '60')][2]['raw_points']:,} points")
    r1, r60 = results[("raw", "3600")][0] / results[("rollups", "3600")][0], \
        results[("raw", "60")][0] / results[("rollups", "60")][0]
    print(f"query rollups: raw/rollups time {r1:.1f}x at period=1h, {r60:.1f}x at period=1m "
          f"(same answers; {args.series} series x {args.days} days every {args.step} s on moto)")


if __name__ == "__main__":
    main()
