"""The file_indexer Lambda: S3 event notifications → the DynamoDB file catalog.

Structured JSON logs (Powertools Logger) carry the region and environment on every line.
The logic is in `weir.files.invocation` and `weir.files.service`.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from weir.files.invocation import handle
from weir.wiring import LambdaFiles, build_file_indexer

logger = Logger(service="file_indexer")
_app: LambdaFiles | None = None


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    global _app
    if _app is None:
        _app = build_file_indexer()
    logger.append_keys(region=_app.region, environment=_app.environment)
    return handle(_app.indexer, event, logger)
