"""The file_indexer Lambda: S3 event notifications → the DynamoDB file catalog.

Structured JSON logs (Powertools Logger) carry the region and environment on every line.
The logic is in `weir.lambdas.s3_events` and `weir.files.service`.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

from weir.lambdas import coldstart
from weir.lambdas.s3_events import handle
from weir.wiring import LambdaFiles, build_file_indexer

logger = Logger(service="file_indexer")
_app: LambdaFiles | None = None


@logger.inject_lambda_context(clear_state=True)
def handler(event, context):
    global _app
    if _app is None:
        try:
            _app = build_file_indexer()
        finally:
            coldstart.settle()  # the cold start's GC pause ends here, built or not
    logger.append_keys(region=_app.region, environment=_app.environment)
    return handle(_app.indexer, event, logger)
