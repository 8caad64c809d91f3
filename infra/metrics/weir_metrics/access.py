"""Least privilege, in one place: the IAM statements of each function's role.

What a function may touch follows from the variables it reads (`contract.function_env`):
a table's variable grants reads on that table (writes only where `WRITES` says so), the
topic's grants publishing, the bucket's grants writing exports. Every resource is named
by ARN; the only `*` resources are the ones AWS requires (X-Ray, `dynamodb:ListStreams`),
and every statement's `Sid` says why it is there. The unit tests parse these documents
and fail on any wildcard not on their allow-list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DYNAMODB_READ = ("dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query")
# ConditionCheckItem: IAM authorizes TransactWriteItems per item action, and the alert
# store's transactions check the rule's version with one.
DYNAMODB_WRITE = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem",
                  "dynamodb:ConditionCheckItem")
# Which tables (by schema key) each function writes; every other table it reads is read-only.
# api: ingest (segments, pending marks, series index, push groups) and rule/subscription
# changes. stream: compaction writes chunks and deletes pending marks. alerts: rule states
# and the notification outbox. exporter: the export watermark (series table) and the
# compaction of metrics no longer written (metrics table).
WRITES: dict[str, frozenset[str]] = {
    "api": frozenset({"METRICS", "SERIES", "ALERTS"}),
    "stream": frozenset({"METRICS"}),
    "alerts": frozenset({"ALERTS"}),
    "exporter": frozenset({"METRICS", "SERIES"}),
}
STREAM_READ = ("dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator")
EXPORT_OBJECTS = ("s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
# Encrypting for an SSE-KMS topic or queue: a data key, and Decrypt to reuse a cached one.
KMS_FOR_MESSAGES = ("kms:GenerateDataKey", "kms:Decrypt")


@dataclass
class TableRef:
    key: str  # schema key: METRICS, SERIES, ALERTS
    arn: str
    has_indexes: bool = False


@dataclass
class Grants:
    """The resolved ARNs a function's statements name (built inside an `apply`)."""

    tables: Mapping[str, TableRef] = field(default_factory=dict)  # env var -> table
    topic_arn: str | None = None
    bucket_arn: str | None = None
    key_arn: str | None = None
    stream_arn: str | None = None  # the table stream this function is triggered by
    dlq_arn: str | None = None  # where its failed stream batches go


def _title(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))


def statements(function: str, variables: tuple[str, ...], grants: Grants, *, topic_var: str,
               bucket_var: str) -> list[dict]:
    """The statements beyond logging and tracing (see `baseline`) for one function."""
    out: list[dict] = []
    for var in variables:
        table = grants.tables.get(var)
        if table is None:
            continue
        resources = [table.arn] + ([f"{table.arn}/index/*"] if table.has_indexes else [])
        name = _title(table.key)
        out.append({"Sid": f"Read{name}Table", "Effect": "Allow", "Action": list(DYNAMODB_READ),
                    "Resource": resources})
        if table.key in WRITES.get(function, ()):
            out.append({"Sid": f"Write{name}Table", "Effect": "Allow", "Action": list(DYNAMODB_WRITE),
                        "Resource": resources})
    uses_key = False
    if topic_var in variables and grants.topic_arn:
        out.append({"Sid": "PublishAlertNotifications", "Effect": "Allow", "Action": ["sns:Publish"],
                    "Resource": [grants.topic_arn]})
        uses_key = True
    if bucket_var in variables and grants.bucket_arn:
        out.append({"Sid": "WriteHourlyExportObjects", "Effect": "Allow", "Action": list(EXPORT_OBJECTS),
                    "Resource": [f"{grants.bucket_arn}/*"]})
        out.append({"Sid": "ListExportsToReplaceAnHour", "Effect": "Allow", "Action": ["s3:ListBucket"],
                    "Resource": [grants.bucket_arn]})
    if grants.stream_arn:
        out.append({"Sid": "ReadTimeSeriesStream", "Effect": "Allow", "Action": list(STREAM_READ),
                    "Resource": [grants.stream_arn]})
        out.append({"Sid": "ListStreamsHasNoResourceLevelPermission", "Effect": "Allow",
                    "Action": ["dynamodb:ListStreams"], "Resource": "*"})
    if grants.dlq_arn:
        out.append({"Sid": "SendFailedStreamBatchesToDeadLetterQueue", "Effect": "Allow",
                    "Action": ["sqs:SendMessage"], "Resource": [grants.dlq_arn]})
        uses_key = True
    if uses_key and grants.key_arn:
        out.append({"Sid": "EncryptMessagesWithStackKey", "Effect": "Allow", "Action": list(KMS_FOR_MESSAGES),
                    "Resource": [grants.key_arn]})
    return out


def baseline(log_group_arn: str) -> list[dict]:
    """Every function: write its own log group (created by the stack), send X-Ray traces."""
    return [
        {"Sid": "WriteOwnLogGroup", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [f"{log_group_arn}:*"]},
        {"Sid": "XRayTracingHasNoResourceLevelPermission", "Effect": "Allow",
         "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"},
    ]


def document(statements_: list[dict]) -> dict:
    return {"Version": "2012-10-17", "Statement": statements_}


def assume_role_policy() -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "LambdaAssumesFunctionRole", "Effect": "Allow",
                       "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
