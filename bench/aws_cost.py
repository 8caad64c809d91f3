"""What the standard workload costs on DynamoDB, beside CloudWatch custom metrics and a
table with one item per datapoint.

    python bench/aws_cost.py [--batches 300]

The workload of bench/workload.py (300 batches of 1,000 points over 1,000 series, 10 s
apart) goes through the `api` Lambda handler into DynamoDB on a moto server, with a
simulated clock that follows the points, so hours close as they would live. Every 30
batches (5 minutes) the new records of the table's stream, filtered as the event source
mapping filters them, go to the `stream` handler, which compacts closed hours. At the end
the last hour is compacted too (as the next hour's first writes would trigger).

A botocore event hook on the DynamoDB client counts every request and computes write
units from the size of each item written (DynamoDB's item-size rules; 1 KB a unit) and
read units from the size of each item read (strongly consistent: 4 KB a unit). Prices are
the published us-east-1 ones: on-demand $0.625 per million write request units and $0.125
per million read request units; CloudWatch PutMetricData $0.01 per 1,000 requests of up
to 1,000 values, and $0.30 per custom metric per month (first 10,000 metrics). Not counted:
Lambda and API Gateway (the same for every design here), and stream reads (free for
Lambda triggers).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

from workload import BATCHES, SERIES, json_bodies, moto_server, points

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

WRU_PRICE = 0.625 / 1e6
RRU_PRICE = 0.125 / 1e6
STORAGE_GB_MONTH = 0.25
CW_REQUEST = 0.01 / 1000
CW_METRIC_MONTH = 0.30
CW_VALUES_PER_REQUEST = 1000
WRITES = {"BatchWriteItem", "PutItem", "UpdateItem", "DeleteItem"}


def number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0").rstrip("0")
    return (max(len(digits), 1) + 1) // 2 + 1


def attr_size(value: dict) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        return number_size(v)
    if kind == "B":
        return len(v)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(x.encode()) for x in v)
    if kind == "NS":
        return sum(number_size(x) for x in v)
    if kind == "BS":
        return sum(len(x) for x in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + attr_size(x) for k, x in v.items())
    if kind == "L":
        return 3 + sum(1 + attr_size(x) for x in v)
    raise ValueError(kind)


def item_size(item: dict) -> int:
    return sum(len(k.encode()) + attr_size(v) for k, v in item.items())


def wcu(item: dict) -> int:
    return max(1, math.ceil(item_size(item) / 1024))


def rcu(size: int) -> int:
    return max(1, math.ceil(size / 4096))


class Meter:
    """Counts requests and capacity units per phase from botocore's events."""

    def __init__(self, client) -> None:
        self.phase = "ingest"
        self.requests: dict[tuple[str, str], int] = defaultdict(int)
        self.wcu: dict[str, int] = defaultdict(int)
        self.rcu: dict[str, int] = defaultdict(int)
        self.stored_bytes = 0
        client.meta.events.register("before-parameter-build.dynamodb", self.before)
        client.meta.events.register("after-call.dynamodb", self.after)

    def before(self, params, model, **_):
        op = model.name
        self.requests[(self.phase, op)] += 1
        if op == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for r in requests:
                    if "PutRequest" in r:
                        self.wcu[self.phase] += wcu(r["PutRequest"]["Item"])
                        self.stored_bytes += item_size(r["PutRequest"]["Item"])
                    else:
                        self.wcu[self.phase] += 1
        elif op == "PutItem":
            self.wcu[self.phase] += wcu(params["Item"])
        elif op in ("UpdateItem", "DeleteItem"):
            self.wcu[self.phase] += 1  # only the small pending marks are updated or deleted

    def after(self, parsed, model, **_):
        op = model.name
        if op == "Query":
            self.rcu[self.phase] += rcu(sum(item_size(i) for i in parsed.get("Items", [])))
        elif op == "GetItem":
            self.rcu[self.phase] += rcu(item_size(parsed["Item"]) if "Item" in parsed else 0)
        elif op == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                self.rcu[self.phase] += sum(rcu(item_size(i)) for i in items)

    def writes(self, phase: str) -> int:
        return sum(n for (p, op), n in self.requests.items() if p == phase and op in WRITES)

    def reads(self, phase: str) -> int:
        return sum(n for (p, op), n in self.requests.items() if p == phase and op not in WRITES)


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def one_item_per_point(batches: int, base: int) -> tuple[float, float]:
    """(write requests, WCU) per 1,000 points for items {pk: series key, timestamp, value, ttl}."""
    from weir.metrics.series import canonical_key

    n = units = 0
    for batch in points(batches, base=base):
        for host, region, ts, value in batch:
            item = {"pk": {"S": canonical_key("cpu", {"host": host, "region": region})},
                    "timestamp": {"N": str(ts * 10**9)}, "value": {"N": repr(value)},
                    "ttl": {"N": str(ts + 30 * 86_400)}}
            units += wcu(item)
            n += 1
    return 1000 / 25, units / n * 1000


def pump_stream(streams, arn: str, iterators: dict, stream_handler, ctx, filtered) -> int:
    """Hand the stream's new records, filtered like the event source mapping, to the handler."""
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        sid = shard["ShardId"]
        it = iterators.get(sid) or streams.get_shard_iterator(
            StreamArn=arn, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while it:
            page = streams.get_records(ShardIterator=it, Limit=1000)
            records += page["Records"]
            iterators[sid] = it = page.get("NextShardIterator")
            if not page["Records"]:
                break
    wanted = [dict(r, eventSourceARN=arn, dynamodb={**r["dynamodb"], "ApproximateCreationDateTime": 0})
              for r in records if filtered(r)]
    for i in range(0, len(wanted), 1000):
        out = stream_handler({"Records": wanted[i : i + 1000]}, ctx)
        assert out == {"batchItemFailures": []}, out
    return len(wanted)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=BATCHES)
    args = ap.parse_args()
    import boto3

    from weir.backends.aws import key_schema as keys
    from weir.backends.aws.tables import create_tables
    from weir.config import Settings
    from weir.http.gateway import LambdaContext
    from weir.lambdas import api, runtime, stream
    from weir.wiring.api import build_api
    from weir.wiring.aws import AwsClients

    with moto_server() as url:
        client = boto3.client("dynamodb", endpoint_url=url)
        streams = boto3.client("dynamodbstreams", endpoint_url=url)
        suffix = uuid.uuid4().hex[:8]
        settings = Settings(backend="aws", metrics_table=f"bench-m-{suffix}", series_table=f"bench-s-{suffix}")
        create_tables(client, metrics_table=settings.metrics_table, series_table=settings.series_table)
        arn = client.describe_table(TableName=settings.metrics_table)["Table"]["LatestStreamArn"]
        meter = Meter(client)
        base = (int(time.time()) // 3600 - 3) * 3600 + 1800  # half past an hour, three hours ago
        clock = Clock(base)
        built = build_api(settings, clients=AwsClients(dynamodb=client), clock=clock)
        # The api and stream functions' cached bundles, replaced by ones on the bench's clock.
        runtime.api_services = lambda: built  # type: ignore[method-assign]
        runtime.stream_store = lambda: built.store  # type: ignore[method-assign, return-value]
        template = json.loads((ROOT / "tests" / "events" / "apigw" / "post_metrics_batch.json").read_text())
        prefix = keys.STREAM_FILTER_PATTERN["dynamodb"]["Keys"][keys.PK]["S"][0]["prefix"]

        def filtered(r):
            return r["eventName"] in keys.STREAM_FILTER_PATTERN["eventName"] and \
                r["dynamodb"]["Keys"][keys.PK]["S"].startswith(prefix)

        iterators: dict = {}
        bodies = json_bodies(args.batches)
        # json_bodies() stamps points from its own base; re-stamp them from ours
        first_batch = {}
        t0 = time.perf_counter()
        for i, raw in enumerate(bodies):
            body = json.loads(raw)
            ts = base + 10 * i
            for p in body["metrics"]:
                p["timestamp"] = ts
            clock.t = ts + 1
            event = dict(template, body=json.dumps(body))
            meter.phase = "ingest"
            response = api.handler(event, LambdaContext())
            assert response["statusCode"] == 200 and json.loads(response["body"])["accepted"] == SERIES, response
            if i == 0:
                first_batch = {"writes": meter.writes("ingest"), "reads": meter.reads("ingest"),
                               "wcu": meter.wcu["ingest"]}
            if (i + 1) % 30 == 0:
                meter.phase = "compaction"
                pump_stream(streams, arn, iterators, stream.handler, LambdaContext(), filtered)
        meter.phase = "compaction"
        clock.t = keys.bucket_of((base + 10 * (args.batches - 1)) * 10**9) / 1e9 + 3600 + keys.GRACE_NS / 1e9 + 1
        pump_stream(streams, arn, iterators, stream.handler, LambdaContext(), filtered)
        built.store.compact_all_due()
        elapsed = time.perf_counter() - t0

    n = args.batches * SERIES
    k = n / 1000
    ing_w, ing_u = meter.writes("ingest") / k, meter.wcu["ingest"] / k
    cmp_w, cmp_u = meter.writes("compaction") / k, meter.wcu["compaction"] / k
    reads_rru = meter.rcu["ingest"] + meter.rcu["compaction"]
    steady_w = (meter.writes("ingest") - first_batch["writes"]) / (k - 1)
    steady_u = (meter.wcu["ingest"] - first_batch["wcu"]) / (k - 1)
    wru_total = meter.wcu["ingest"] + meter.wcu["compaction"]
    per_million = wru_total / n * 1e6 * WRU_PRICE + reads_rru / n * 1e6 * RRU_PRICE
    storage = meter.stored_bytes / n * 1e6 / 1e9 * STORAGE_GB_MONTH
    naive_w, naive_u = one_item_per_point(args.batches, base)
    naive_cost = naive_u / 1000 * 1e6 * WRU_PRICE
    cw_api = 1e6 / CW_VALUES_PER_REQUEST * CW_REQUEST
    points_per_metric_month = 30 * 86_400 / 10  # one point per series every 10 s, as the workload
    cw_metrics = CW_METRIC_MONTH / points_per_metric_month * 1e6
    print(f"{n:,} datapoints in {args.batches} requests through the api handler, {elapsed:.0f} s against moto")
    by_op = sorted(meter.requests.items())
    print("requests by phase and operation: " + ", ".join(f"{p}/{op} {c}" for (p, op), c in by_op))
    print(f"first request (1,000 new series): {first_batch['writes']} write requests, {first_batch['wcu']} WCU, "
          f"{first_batch['reads']} reads (a GetItem per new series)")
    print("per 1,000 datapoints      write requests   WCU     read RRU")
    print(f"  ingest (all)            {ing_w:14.2f}   {ing_u:6.3f}  {meter.rcu['ingest'] / k:8.3f}")
    print(f"  ingest (steady state)   {steady_w:14.2f}   {steady_u:6.3f}")
    print(f"  compaction (stream)     {cmp_w:14.2f}   {cmp_u:6.3f}  {meter.rcu['compaction'] / k:8.3f}")
    print(f"  total                   {ing_w + cmp_w:14.2f}   {ing_u + cmp_u:6.3f}  {reads_rru / k:8.3f}")
    print(f"  one item per datapoint  {naive_w:14.2f}   {naive_u:6.3f}")
    print(f"$ per million datapoints: weir ${per_million:.4f} (writes and reads; storage for 30 days "
          f"${storage:.4f}); one item per datapoint ${naive_cost:.4f}; CloudWatch PutMetricData "
          f"${cw_api + cw_metrics:.4f} (${cw_api:.4f} requests + ${cw_metrics:.4f} for 1,000 metrics "
          f"at one point per 10 s)")
    print(f"aws cost: {ing_w + cmp_w:.2f} write requests per 1,000 datapoints, {(ing_u + cmp_u) / 1000:.4f} WCU per "
          f"datapoint (ingest {ing_w:.2f} req / {ing_u / 1000:.4f} WCU, compaction {cmp_w:.2f} / {cmp_u / 1000:.4f}), "
          f"${per_million:.4f} per million datapoints; one item per datapoint {naive_w:.0f} req / "
          f"{naive_u / 1000:.2f} WCU, ${naive_cost:.3f}; CloudWatch ${cw_api + cw_metrics:.3f}")


if __name__ == "__main__":
    main()
