"""The Lambda functions: one short module each, over the services `wiring.py` builds.

- `api`: API Gateway REST proxy events → the route table `weir serve` uses.
- `stream`: the time-series table's DynamoDB stream → compaction of closed hours.
- `file_indexer`: S3 event notifications → the file-metadata catalog.
"""
