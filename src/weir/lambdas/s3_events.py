"""What the file_indexer Lambda does with one invocation, kept out of the Lambda module.

Two shapes arrive:

- an S3 event notification (S3 invokes the function asynchronously). Every record is
  indexed; if any failed, the invocation raises `FileIndexingError` *after* the others
  were stored, so Lambda retries it and, when retries run out, sends it to the on-failure
  destination (an SQS queue) with this structured error as the response payload. Retrying
  the records that did succeed is harmless: the catalog refuses equal sequencers.
- an SQS batch whose messages are S3 notifications (S3 → SQS → Lambda, and the moto end
  to end test). Failed messages are returned as `batchItemFailures`, so only they return
  to the queue.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from weir.files.service import FileIndexer, IndexReport

log = logging.getLogger(__name__)


class FileIndexingError(Exception):
    """Raised with a JSON message: {"error", "message", "stored", "skipped", "failed": [...]}."""

    def __init__(self, report: IndexReport) -> None:
        self.report = report
        body = {
            "error": "index_failed",
            "message": f"{len(report.failed)} record(s) could not be indexed; the others were stored",
            **report.as_dict(),
        }
        super().__init__(json.dumps(body, ensure_ascii=False))


def handle(indexer: FileIndexer, event: object, logger: Any = log) -> dict:
    # `logger`: a logging.Logger, or Powertools' Logger in the Lambda (same methods, no common base).
    records = event.get("Records") if isinstance(event, dict) else None
    if (
        isinstance(records, list)
        and records
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    ):
        return _sqs_batch(indexer, records, logger)
    report = indexer.index_notification(event)
    _log_report(logger, report)
    if report.failed:
        raise FileIndexingError(report)
    return {"status": "ok", **report.as_dict()}


def _sqs_batch(indexer: FileIndexer, records: list[dict], logger) -> dict:
    failures: list[dict] = []
    for rec in records:
        message_id = rec.get("messageId", "")
        try:
            body = json.loads(rec.get("body") or "")
        except ValueError as exc:
            logger.error("SQS message is not JSON", extra={"message_id": message_id, "error": str(exc)})
            failures.append({"itemIdentifier": message_id})
            continue
        report = indexer.index_notification(body)
        _log_report(logger, report, message_id=message_id)
        if report.failed:
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


def _log_report(logger, report: IndexReport, **extra) -> None:
    fields = {**extra, "stored": report.stored, "skipped": report.skipped, "ignored": report.ignored}
    if report.failed:
        fields["failed"] = [{"index": f.index, "key": f.key, "error": f.error} for f in report.failed]
        logger.error("some records were not indexed", extra=fields)
    else:
        logger.info("records indexed", extra=fields)
