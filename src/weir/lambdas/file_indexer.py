"""The file_indexer Lambda: S3 event notifications → the DynamoDB file catalog.

Structured JSON logs (Powertools Logger) carry the region and environment on every line.
The logic is in `weir.lambdas.s3_events` and `weir.files.service`.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from weir.lambdas import runtime
from weir.lambdas.s3_events import handle

logger = Logger(service="file_indexer")


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    built = runtime.file_indexer()
    logger.append_keys(region=built.region, environment=built.environment)
    return handle(built.indexer, event, logger)
