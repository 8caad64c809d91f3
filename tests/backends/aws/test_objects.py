"""The S3 adapter on a moto server: encryption, content headers, multipart, error translation."""

from __future__ import annotations

import os
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from weir.backends.aws.objects import MIB, S3ObjectStore
from weir.errors import InvalidInputError, NotFoundError, StorageError


def test_every_put_asks_for_aes256_and_sets_content_headers(s3_bucket):
    client, bucket = s3_bucket
    store = S3ObjectStore(client, bucket)
    store.put("m/part-00000.jsonl.gz", b"\x1f\x8b...", content_type="application/x-ndjson", content_encoding="gzip")
    store.put("m/_manifest.json", b"{}", content_type="application/json")
    head = client.head_object(Bucket=bucket, Key="m/part-00000.jsonl.gz")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/x-ndjson"
    assert head["ContentEncoding"] == "gzip"
    head = client.head_object(Bucket=bucket, Key="m/_manifest.json")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentType"] == "application/json"
    assert "ContentEncoding" not in head


def test_prefix_is_prepended_and_hidden(s3_bucket):
    client, bucket = s3_bucket
    store = S3ObjectStore(client, bucket, "team/exports")
    store.put("a/b", b"1", content_type="text/plain")
    assert client.get_object(Bucket=bucket, Key="team/exports/a/b")["Body"].read() == b"1"
    assert store.list("a/") == ["a/b"]
    assert store.url == f"s3://{bucket}/team/exports/"


def test_large_objects_go_up_as_encrypted_multipart_uploads(s3_bucket):
    client, bucket = s3_bucket
    store = S3ObjectStore(client, bucket, multipart_threshold=5 * MIB, part_size=5 * MIB)
    data = os.urandom(11 * MIB + 123)
    calls = []
    real = client.upload_part

    def spy(**kw):
        calls.append(kw["PartNumber"])
        return real(**kw)

    with mock.patch.object(client, "upload_part", side_effect=spy):
        store.put("big.bin", data, content_type="application/octet-stream", content_encoding="gzip")
    assert calls == [1, 2, 3]
    assert store.get("big.bin") == data
    head = client.head_object(Bucket=bucket, Key="big.bin")
    assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentEncoding"] == "gzip"
    assert head["ContentLength"] == len(data)


def test_a_failed_multipart_upload_is_aborted_and_reported(s3_bucket):
    client, bucket = s3_bucket
    store = S3ObjectStore(client, bucket, multipart_threshold=5 * MIB, part_size=5 * MIB)
    real = client.upload_part

    def fail_second(**kw):
        if kw["PartNumber"] == 2:
            error = {"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}
            raise ClientError(error, "UploadPart")
        return real(**kw)

    with mock.patch.object(client, "upload_part", side_effect=fail_second):
        with pytest.raises(StorageError, match="SlowDown"):
            store.put("big.bin", os.urandom(11 * MIB), content_type="application/octet-stream")
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert store.list("") == []


def test_kms_key_is_requested_when_given(s3_bucket, moto_server):
    from tests.conftest import aws_client

    client, bucket = s3_bucket
    key_id = aws_client("kms", moto_server).create_key()["KeyMetadata"]["KeyId"]
    S3ObjectStore(client, bucket, kms_key_id=key_id).put("k", b"x", content_type="text/plain")
    head = client.head_object(Bucket=bucket, Key="k")
    assert head["ServerSideEncryption"] == "aws:kms"
    assert key_id in head["SSEKMSKeyId"]


def test_driver_errors_become_weir_errors(s3_bucket):
    client, bucket = s3_bucket
    with pytest.raises(NotFoundError, match="no object at"):
        S3ObjectStore(client, bucket).get("missing")
    missing = S3ObjectStore(client, bucket + "-does-not-exist")
    with pytest.raises(StorageError, match="NoSuchBucket.*check the bucket name"):
        missing.put("k", b"x", content_type="text/plain")
    with pytest.raises(StorageError, match="NoSuchBucket"):
        missing.list("")
    with pytest.raises(InvalidInputError, match="part_size"):
        S3ObjectStore(client, bucket, part_size=1024)


def test_access_denied_names_the_iam_permissions(s3_bucket):
    client, bucket = s3_bucket
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "PutObject")
    with mock.patch.object(client, "put_object", side_effect=denied):
        with pytest.raises(StorageError, match="AccessDenied.*IAM"):
            S3ObjectStore(client, bucket).put("k", b"x", content_type="text/plain")
