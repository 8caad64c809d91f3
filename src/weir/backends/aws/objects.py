"""The object store on S3: the export destination in AWS.

Every write, single or multipart, asks for server-side encryption (AES256 by default,
or SSE-KMS with a key id) instead of trusting the bucket default alone: an object is
never stored unencrypted even in a bucket someone misconfigured, and a bucket policy that
denies unencrypted puts accepts these. Content type and encoding are set so a consumer
knows what it has: a `.jsonl.gz` part is `application/x-ndjson` with `Content-Encoding:
gzip` (note that HTTP clients which honour that header, curl --compressed or a browser,
will hand back the decompressed text; the S3 API and SDKs return the stored bytes).

Parts larger than `multipart_threshold` go up as a multipart upload, so a big hour
neither hits the 5 GB single-put limit nor restarts from zero on one failed request;
a failed multipart upload is aborted so no orphaned parts are billed.

The boto3 client is injected (the composition root builds it); botocore errors become
Weir's own: a missing key NotFoundError, anything else StorageError naming the
bucket, key and S3's error code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from botocore.exceptions import BotoCoreError, ClientError

from weir.errors import InvalidInputError, NotFoundError, StorageError

MIB = 1024 * 1024
S3_MIN_PART = 5 * MIB  # S3 rejects smaller parts, except the last
DELETE_BATCH = 1000  # DeleteObjects takes at most 1,000 keys


class S3ObjectStore:
    backend = "s3"

    def __init__(
        self,
        client,
        bucket: str,
        prefix: str = "",
        *,
        kms_key_id: str | None = None,
        multipart_threshold: int = 64 * MIB,
        part_size: int = 16 * MIB,
    ) -> None:
        if part_size < S3_MIN_PART:
            raise InvalidInputError(f"part_size must be at least {S3_MIN_PART} bytes (S3's minimum part size)")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.multipart_threshold = max(multipart_threshold, part_size)
        self.part_size = part_size
        self.url = f"s3://{bucket}/{prefix}"
        self._sse = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id} if kms_key_id else {
            "ServerSideEncryption": "AES256"
        }

    def put(self, key: str, data: bytes, *, content_type: str, content_encoding: str | None = None) -> None:
        args = {"Bucket": self.bucket, "Key": self.prefix + key, "ContentType": content_type, **self._sse}
        if content_encoding:
            args["ContentEncoding"] = content_encoding
        with _translated("put", self.url + key):
            if len(data) <= self.multipart_threshold:
                self.client.put_object(Body=data, **args)
            else:
                self._multipart(args, data)

    def _multipart(self, args: dict, data: bytes) -> None:
        upload_id = self.client.create_multipart_upload(**args)["UploadId"]
        ids = {"Bucket": args["Bucket"], "Key": args["Key"], "UploadId": upload_id}
        try:
            parts = []
            view = memoryview(data)
            for number, offset in enumerate(range(0, len(data), self.part_size), 1):
                body = view[offset : offset + self.part_size].tobytes()
                etag = self.client.upload_part(PartNumber=number, Body=body, **ids)["ETag"]
                parts.append({"PartNumber": number, "ETag": etag})
            self.client.complete_multipart_upload(MultipartUpload={"Parts": parts}, **ids)
        except BaseException:
            try:
                self.client.abort_multipart_upload(**ids)
            except (ClientError, BotoCoreError):
                pass  # the original failure is the one to report; a lifecycle rule reaps leftovers
            raise

    def get(self, key: str) -> bytes:
        with _translated("get", self.url + key):
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=self.prefix + key)["Body"].read()
        return body

    def list(self, prefix: str) -> list[str]:
        keys: list[str] = []
        cut = len(self.prefix)
        with _translated("list", self.url + prefix):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix + prefix
            )
            for page in pages:
                keys.extend(item["Key"][cut:] for item in page.get("Contents", ()))
        return sorted(keys)

    def delete(self, keys: Iterable[str]) -> None:
        keys = [self.prefix + k for k in keys]
        for i in range(0, len(keys), DELETE_BATCH):
            batch = keys[i : i + DELETE_BATCH]
            with _translated("delete", f"{self.url} ({len(batch)} keys)"):
                reply = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
                )
            errors = reply.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError(
                    f"S3 could not delete {len(errors)} of {len(batch)} objects in s3://{self.bucket}/, "
                    f"first {first.get('Key')!r}: {first.get('Code')}: {first.get('Message')}"
                )


class _translated:
    """Turn botocore failures into Weir errors that say what was being done where."""

    def __init__(self, action: str, where: str) -> None:
        self.action, self.where = action, where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> Literal[False]:
        if exc is None:
            return False
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            message = error.get("Message") or str(exc)
            if code in ("NoSuchKey", "404", "NotFound") and self.action == "get":
                raise NotFoundError(f"no object at {self.where}") from exc
            hint = ""
            if code in ("AccessDenied", "403", "AllAccessDisabled"):
                hint = "; check the IAM policy allows s3:PutObject/GetObject/ListBucket/DeleteObject here"
            elif code == "NoSuchBucket":
                hint = "; check the bucket name and region"
            raise StorageError(f"S3 {self.action} of {self.where} failed: {code}: {message}{hint}") from exc
        if isinstance(exc, BotoCoreError):
            raise StorageError(f"S3 {self.action} of {self.where} failed: {exc}") from exc
        return False
