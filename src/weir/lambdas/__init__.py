"""The Lambda functions: one short module each, over the bundles `weir.wiring` builds (one builder per function).

- `api`: API Gateway REST proxy events → the route table `weir serve` uses.
- `stream`: the time-series table's DynamoDB stream → compaction of closed hours.
- `alerts`: EventBridge, every minute → evaluate every rule, deliver the outbox.
- `exporter`: EventBridge, hourly → export closed hours to S3; compact idle metrics.
- `file_indexer`: S3 event notifications → the file-metadata catalog.
"""

from weir.lambdas import coldstart

coldstart.pause()  # before the functions' imports: see coldstart.py
