"""The file catalog on DynamoDB, and S3 as the object source. Each takes its boto3 client.

Table `file-metadata-table-{env}` (the seed's name): partition key `bucket`, sort key
`key`, so listing a bucket by key prefix is one `Query` with `begins_with` and never a
`Scan`. Items hold the record's fields as attributes, plus `seq`, the padded sequencer;
a write is one `PutItem` with the condition `attribute_not_exists(#k) OR #seq < :seq`,
so a duplicate or an older event is refused by DynamoDB itself, with no read first and no
race between concurrent invocations. Tombstones are PutItems too (deletion mode `remove`
sets `expires_at`, the table's TTL attribute), so the indexer needs `dynamodb:PutItem`
and nothing else on the table.

One partition key per bucket: DynamoDB splits a hot item collection by sort-key range
when the table has no local secondary index (it has none), so the limit of about 1,000
writes/s per partition does not cap a busy bucket for long.

moto keeps TTL settings but never expires items; DynamoDB's TTL can lag two days. Reads
therefore filter expired items themselves.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from weir.backends.aws.dynamo import ConditionFailed, Dynamo
from weir.config import FILES_TABLE_PK, FILES_TABLE_SK, FILES_TTL_ATTRIBUTE
from weir.errors import StorageError
from weir.files.record import FileRecord, ObjectHead, iso_ms, strip_etag

_ser = TypeSerializer()
_de = TypeDeserializer()
_INTERNAL = {"seq"}


def _num(value):
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: _num(v) for k, v in value.items()}
    return value


def to_item(record: FileRecord) -> dict:
    data = {k: v for k, v in msgspec.to_builtins(record).items() if v is not None}
    data["seq"] = record.order
    return {k: _ser.serialize(v) for k, v in data.items()}


def from_item(item: dict) -> FileRecord:
    data = {k: _num(_de.deserialize(v)) for k, v in item.items() if k not in _INTERNAL}
    return msgspec.convert(data, FileRecord)


class DynamoFileCatalog:
    backend = "dynamodb"

    def __init__(self, client, table: str) -> None:
        # Through `Dynamo`, as every other DynamoDB store: one retry policy for throttling and
        # one translation of botocore errors into Weir's (a missing table, denied, unreachable).
        self._db = Dynamo(client)
        self.table = table

    def put(self, record: FileRecord) -> bool:
        try:
            self._db.call(
                "put_item",
                self.table,
                Item=to_item(record),
                ConditionExpression="attribute_not_exists(#k) OR #seq < :seq",
                ExpressionAttributeNames={"#k": FILES_TABLE_SK, "#seq": "seq"},
                ExpressionAttributeValues={":seq": {"S": record.order}},
            )
        except ConditionFailed:
            return False
        return True

    def put_many(self, records: list[FileRecord]) -> list[bool]:
        # BatchWriteItem takes no conditions, so each record is its own conditional write.
        return [self.put(r) for r in records]

    def get(self, bucket: str, key: str) -> FileRecord | None:
        resp = self._db.call(
            "get_item", self.table, Key={FILES_TABLE_PK: {"S": bucket}, FILES_TABLE_SK: {"S": key}}, ConsistentRead=True
        )
        item = resp.get("Item")
        return from_item(item) if item else None

    def list(
        self, bucket: str, prefix: str, *, after: str | None, limit: int, include_deleted: bool, now_s: int
    ) -> tuple[list[FileRecord], str | None]:
        names = {"#b": FILES_TABLE_PK, "#exp": FILES_TTL_ATTRIBUTE}
        values: dict = {":b": {"S": bucket}, ":now": {"N": str(now_s)}}
        cond = "#b = :b"
        if prefix:
            cond += " AND begins_with(#k, :p)"
            names["#k"] = FILES_TABLE_SK
            values[":p"] = {"S": prefix}
        filt = "(attribute_not_exists(#exp) OR #exp > :now)"
        if not include_deleted:
            filt += " AND #state = :created"
            names["#state"] = "state"
            values[":created"] = {"S": "created"}
        kwargs = {
            "KeyConditionExpression": cond,
            "FilterExpression": filt,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ConsistentRead": True,
        }
        if after is not None and after >= prefix:
            kwargs["ExclusiveStartKey"] = {FILES_TABLE_PK: {"S": bucket}, FILES_TABLE_SK: {"S": after}}
        items: list[FileRecord] = []
        while True:
            kwargs["Limit"] = limit - len(items)
            resp = self._db.call("query", self.table, **kwargs)
            items.extend(from_item(i) for i in resp.get("Items", []))
            last = resp.get("LastEvaluatedKey")
            if last is None:
                return items, None
            if len(items) >= limit:
                return items, items[-1].key
            kwargs["ExclusiveStartKey"] = last

    def close(self) -> None:
        pass


class S3ObjectSource:
    """HEAD on S3, the only S3 call the indexer makes (s3:GetObject / s3:GetObjectVersion)."""

    def __init__(self, client) -> None:
        self._s3 = client

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectHead | None:
        kwargs = {"Bucket": bucket, "Key": key, "ChecksumMode": "ENABLED"}
        if version_id is not None:
            kwargs["VersionId"] = version_id
        try:
            resp = self._s3.head_object(**kwargs)
        except ClientError as exc:
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            code = exc.response.get("Error", {}).get("Code", "")
            # 404: no such key or version. 405: that version is a delete marker.
            if status in (404, 405) or code in ("NoSuchKey", "NoSuchVersion", "404", "405"):
                return None
            if status == 403 or code in ("403", "AccessDenied", "Forbidden"):
                raise StorageError(
                    f"S3 denied HeadObject on s3://{bucket}/{key}: the indexer needs "
                    "s3:GetObject and s3:GetObjectVersion on the bucket's objects"
                ) from None
            raise StorageError(f"HeadObject s3://{bucket}/{key} failed: {code or status}") from None
        except BotoCoreError as exc:
            raise StorageError(f"HeadObject s3://{bucket}/{key} failed: {exc}") from None
        checksum = {
            name[len("Checksum") :]: value
            for name, value in resp.items()
            if name.startswith("Checksum") and name != "ChecksumType" and isinstance(value, str)
        }
        last_modified = resp.get("LastModified")
        return ObjectHead(
            size=int(resp.get("ContentLength", 0)),
            etag=strip_etag(resp.get("ETag")),
            content_type=resp.get("ContentType"),
            last_modified=iso_ms(last_modified) if last_modified is not None else None,
            version_id=resp.get("VersionId"),
            storage_class=resp.get("StorageClass") or "STANDARD",  # S3 omits it for STANDARD
            sse=resp.get("ServerSideEncryption"),
            kms_key_id=resp.get("SSEKMSKeyId"),
            checksum=checksum or None,
            user_metadata=dict(resp.get("Metadata") or {}),
            # x-amz-tagging-count is sent only when the object has tags.
            tag_count=int(resp.get("TagCount", 0)),
        )
