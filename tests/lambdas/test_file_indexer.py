"""The file_indexer Lambda end to end on a moto server:
S3 put → bucket notification → SQS → handler → DynamoDB.

moto's notifications carry no `sequencer` (S3's always do), so these events are ordered by
their millisecond `eventTime`; operations on one key are spaced a few milliseconds apart.
"""

from __future__ import annotations

import io
import json
import random
import time
import uuid

import boto3
import pytest

from tests.backends.aws.tables import create_files_table
from weir import config
from weir.backends.aws.files import DynamoFileCatalog, S3ObjectSource
from weir.errors import StorageError
from weir.http.gateway import LambdaContext
from weir.lambdas import file_indexer, runtime
from weir.lambdas.s3_events import FileIndexingError

REGION = "eu-west-1"
KEYS = {
    "reports/Q1 2024/summary+final.pdf": dict(Body=b"%PDF-1.7 ...", ContentType="application/pdf",
                                               Metadata={"owner": "ana"}, Tagging="team=data&year=2024"),
    "photos/été/café ☕.jpg": dict(Body=b"\xff\xd8\xff" * 100, ContentType="image/jpeg", ChecksumAlgorithm="SHA256"),
    "100% done?.txt": dict(Body=b""),
    "to/delete.txt": dict(Body=b"bye"),
}


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    table = f"file-metadata-table-{uuid.uuid4().hex[:8]}"
    bucket = f"weir-files-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv(config.ENV_FILES_TABLE, table)
    monkeypatch.setenv(config.ENV_ENVIRONMENT, "test")
    runtime.reset()  # the next invocation builds the indexer from this environment
    s3 = boto3.client("s3", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    ddb = boto3.client("dynamodb", region_name=REGION)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    queue_url = sqs.create_queue(QueueName=f"events-{bucket}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"QueueConfigurations": [
        {"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}]})
    create_files_table(ddb, table)
    return dict(s3=s3, sqs=sqs, queue=queue_url, bucket=bucket, catalog=DynamoFileCatalog(ddb, table))


def drain(sqs, queue) -> list[dict]:
    """Every message on the queue, shaped as Lambda's SQS event source delivers them."""
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append({"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:events", "awsRegion": REGION})
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])


def put_everything(aws) -> None:
    s3, bucket = aws["s3"], aws["bucket"]
    for key, kwargs in KEYS.items():
        s3.put_object(Bucket=bucket, Key=key, **kwargs)
    time.sleep(0.005)
    s3.put_object(Bucket=bucket, Key="100% done?.txt", Body=b"overwritten")
    time.sleep(0.005)
    s3.delete_object(Bucket=bucket, Key="to/delete.txt")


def check_catalog_matches_s3(aws) -> None:
    s3, bucket, catalog = aws["s3"], aws["bucket"], aws["catalog"]
    for key in KEYS:
        rec = catalog.get(bucket, key)
        assert rec is not None, key
        if key == "to/delete.txt":
            assert rec.deleted and rec.deleted_at and rec.event_name == "ObjectRemoved:Delete"
            continue
        head = s3.head_object(Bucket=bucket, Key=key)
        assert not rec.deleted
        assert rec.etag == head["ETag"].strip('"') and rec.size == head["ContentLength"]
        assert rec.content_type == head["ContentType"] and rec.user_metadata == head.get("Metadata", {})
        assert rec.region == REGION and rec.storage_class == "STANDARD"
        assert rec.last_modified.endswith("Z") and rec.processed_at.endswith("Z")
    assert catalog.get(bucket, "reports/Q1 2024/summary+final.pdf").tag_count == 2
    assert catalog.get(bucket, "photos/été/café ☕.jpg").checksum.keys() == {"SHA256"}
    assert catalog.get(bucket, "100% done?.txt").size == len(b"overwritten")


def test_put_notification_sqs_handler_dynamodb(aws):
    put_everything(aws)
    messages = drain(aws["sqs"], aws["queue"])
    assert len(messages) >= 6  # 5 puts + 1 delete (+ moto's s3:TestEvent)
    out = io.StringIO()
    previous = file_indexer.logger.registered_handler.setStream(out)
    try:
        result = file_indexer.handler({"Records": messages}, LambdaContext())
    finally:
        file_indexer.logger.registered_handler.setStream(previous)
    assert result == {"batchItemFailures": []}
    check_catalog_matches_s3(aws)
    logs = [json.loads(line) for line in out.getvalue().splitlines()]
    assert logs and all(entry["region"] == REGION and entry["environment"] == "test" for entry in logs)
    assert {"stored", "skipped", "function_request_id"} <= set(logs[-1])


def test_redelivery_in_any_order_changes_nothing(aws):
    put_everything(aws)
    messages = drain(aws["sqs"], aws["queue"])
    file_indexer.handler({"Records": messages}, LambdaContext())
    before = {k: aws["catalog"].get(aws["bucket"], k) for k in KEYS}
    # S3 → Lambda directly: each notification is the event; shuffled and duplicated
    bodies = [json.loads(m["body"]) for m in messages] * 2
    random.Random(7).shuffle(bodies)
    for body in bodies:
        out = file_indexer.handler(body, LambdaContext())
        assert out["status"] == "ok" and out["stored"] == 0
    assert {k: aws["catalog"].get(aws["bucket"], k) for k in KEYS} == before


def test_out_of_order_first_delivery_converges(aws):
    put_everything(aws)
    bodies = [json.loads(m["body"]) for m in drain(aws["sqs"], aws["queue"])]
    for body in reversed(bodies):
        file_indexer.handler(body, LambdaContext())
    check_catalog_matches_s3(aws)


def test_a_failing_record_does_not_lose_the_others(aws, monkeypatch):
    put_everything(aws)
    bodies = [json.loads(m["body"]) for m in drain(aws["sqs"], aws["queue"])]
    records = [r for b in bodies for r in b.get("Records", [])]
    real_head = S3ObjectSource.head

    def flaky(self, bucket, key, version_id=None):
        if key == "photos/été/café ☕.jpg":
            raise StorageError(f"HeadObject s3://{bucket}/{key} failed: SlowDown")
        return real_head(self, bucket, key, version_id)

    monkeypatch.setattr(S3ObjectSource, "head", flaky)
    with pytest.raises(FileIndexingError) as info:
        file_indexer.handler({"Records": records}, LambdaContext())
    error = json.loads(str(info.value))
    assert error["error"] == "index_failed" and error["stored"] == len(records) - 1
    assert [(f["key"], "SlowDown" in f["error"]) for f in error["failed"]] == [("photos/été/café ☕.jpg", True)]
    assert aws["catalog"].get(aws["bucket"], "photos/été/café ☕.jpg") is None
    assert aws["catalog"].get(aws["bucket"], "reports/Q1 2024/summary+final.pdf") is not None
    # the SQS shape reports the message, so only it returns to the queue
    sqs_event = {"Records": [{"messageId": "m1", "body": json.dumps({"Records": records}), "eventSource": "aws:sqs"},
                             {"messageId": "m2", "body": "{oops", "eventSource": "aws:sqs"}]}
    assert file_indexer.handler(sqs_event, LambdaContext()) == {
        "batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    # the retry, once S3 answers, stores the missing record and skips the rest
    monkeypatch.setattr(S3ObjectSource, "head", real_head)
    out = file_indexer.handler({"Records": records}, LambdaContext())
    assert out["stored"] == 1 and out["skipped"] == len(records) - 1
    check_catalog_matches_s3(aws)


def test_missing_configuration_is_a_clear_error(monkeypatch):
    from weir.errors import InvalidInputError
    from weir.wiring.file_indexer import build_file_indexer

    with pytest.raises(InvalidInputError, match="WEIR_FILES_TABLE"):
        build_file_indexer({"AWS_REGION": "eu-west-1"})
    with pytest.raises(InvalidInputError, match="region"):
        build_file_indexer({config.ENV_FILES_TABLE: "t"})


def test_the_lambda_reads_exactly_the_variables_infra_sets():
    from weir.wiring.file_indexer import build_file_indexer

    class Recording(dict):
        def __init__(self, *a):
            super().__init__(*a)
            self.read = set()

        def get(self, k, default=None):
            self.read.add(k)
            return super().get(k, default)

        def __getitem__(self, k):
            self.read.add(k)
            return super().__getitem__(k)

    env = Recording({config.ENV_FILES_TABLE: "t", "AWS_REGION": "eu-west-1"})
    app = build_file_indexer(env)
    assert env.read <= set(config.FILE_INDEXER_ENV) | set(config.REGION_ENV)
    assert set(config.FILE_INDEXER_ENV) <= env.read
    assert app.region == "eu-west-1" and app.indexer.deletion == "tombstone"
