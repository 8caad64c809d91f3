"""File-metadata benchmark.

1. Local: index N files (default 10,000, 1-4 KiB each) from a bucket folder into the SQLite
   catalog through the same path `weir serve` uses at startup (reconcile → FileIndexer →
   SqliteFileCatalog), and report files/s. Then a second reconcile with nothing changed.
2. Lambda path on a moto server: put M objects (and delete a tenth), let S3 notify SQS,
   run the file_indexer handler on the messages, and count the S3 and DynamoDB requests
   it made per object event.

Prints its result as the last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))


def bench_local(n: int) -> tuple[float, float]:
    from weir.config import Settings
    from weir.wiring.local import local_files

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        root = data / "bucket"
        rng = random.Random(1)
        for i in range(n):
            d = root / f"d{i % 100:02d}"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"file-{i:05d}.txt").write_bytes(os.urandom(rng.randint(1024, 4096)))
        services = local_files(Settings(data_dir=data))
        try:
            t0 = time.perf_counter()
            report = services.sync.reconcile()
            first = time.perf_counter() - t0
            assert report.indexed == n and report.failed == 0, report
            t0 = time.perf_counter()
            again = services.sync.reconcile()
            second = time.perf_counter() - t0
            assert again.indexed == 0 and again.unchanged == n, again
        finally:
            services.close()
    return n / first, n / second


def bench_lambda(m: int) -> tuple[dict, int]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from tests.backends.aws.tables import create_files_table
    from tests.helpers import free_port
    from weir import config
    from weir.lambdas.s3_events import handle
    from weir.wiring.file_indexer import build_file_indexer

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"})
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
        s3, sqs, ddb = (boto3.client(s, region_name="eu-west-1") for s in ("s3", "sqs", "dynamodb"))
        bucket, table = f"bench-{uuid.uuid4().hex[:8]}", "file-metadata-table-bench"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        url = sqs.create_queue(QueueName="bench-events")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
            {"QueueArn": arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
        create_files_table(ddb, table)
        for i in range(m):
            s3.put_object(Bucket=bucket, Key=f"objects/{i:05d} é+.bin", Body=os.urandom(256))
        time.sleep(0.01)
        for i in range(0, m, 10):
            s3.delete_object(Bucket=bucket, Key=f"objects/{i:05d} é+.bin")
        bodies = []
        while msgs := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for msg in msgs:
                bodies.append(json.loads(msg["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
        events = sum(len(b.get("Records", [])) for b in bodies)

        app = build_file_indexer({config.ENV_FILES_TABLE: table, "AWS_REGION": "eu-west-1"})
        calls: Counter = Counter()

        def count(service):
            def hook(model, **_):
                calls[f"{service}:{model.name}"] += 1
            return hook

        app.indexer.objects._s3.meta.events.register("before-call.s3", count("s3"))
        app.indexer.catalog._db.meta.events.register("before-call.dynamodb", count("dynamodb"))
        for body in bodies:  # one invocation per notification, as S3 → Lambda delivers them
            handle(app.indexer, body)
        return dict(calls), events
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--objects", type=int, default=500)
    args = parser.parse_args()

    first, second = bench_local(args.files)
    print(f"local: {args.files} files indexed at {first:,.0f} files/s; unchanged re-scan {second:,.0f} files/s")
    calls, events = bench_lambda(args.objects)
    s3 = sum(v for k, v in calls.items() if k.startswith("s3:"))
    ddb = sum(v for k, v in calls.items() if k.startswith("dynamodb:"))
    print(f"lambda on moto: {events} object events ({args.objects} puts, {events - args.objects} deletes), "
          f"requests {calls}")
    print(f"files: local {first:,.0f} files/s ({args.files} files); Lambda path per object event: "
          f"S3 {s3 / events:.2f} requests, DynamoDB {ddb / events:.2f} requests")


if __name__ == "__main__":
    main()
