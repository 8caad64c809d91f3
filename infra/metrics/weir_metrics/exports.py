"""The S3 bucket the hourly exporter writes to: private, encrypted, versioned, TLS only.

No ACL resource and no `acl` argument anywhere: the bucket enforces bucket-owner
ownership, which disables ACLs (the seed's first attempt failed on exactly that, fix #3),
and the public access block with all four settings does the blocking.
Old versions (an hour exported again replaces its objects) expire after
`noncurrent_days`; multipart uploads a crashed export left behind after a day.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming


@dataclass
class ExportBucketArgs:
    environment: str
    tags: pulumi.Input[dict[str, str]]
    noncurrent_days: pulumi.Input[int] = 30
    force_destroy: pulumi.Input[bool] = False


def tls_only_policy(bucket_arn: str) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyRequestsWithoutTls",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


class ExportBucket(pulumi.ComponentResource):
    def __init__(self, name: str, args: ExportBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}ExportBucket", name, None, opts)
        env = args.environment
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(naming.name("exports", env), force_destroy=args.force_destroy, tags=args.tags,
                                    opts=child)
        self.ownership = aws.s3.BucketOwnershipControls(
            naming.name("exports-ownership", env),
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        self.public_access_block = aws.s3.BucketPublicAccessBlock(
            naming.name("exports-public-access-block", env),
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        self.versioning = aws.s3.BucketVersioning(
            naming.name("exports-versioning", env),
            bucket=self.bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        self.encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            naming.name("exports-encryption", env),
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        self.policy = aws.s3.BucketPolicy(
            naming.name("exports-tls-only", env),
            bucket=self.bucket.id,
            policy=self.bucket.arn.apply(lambda arn: json.dumps(tls_only_policy(arn))),
            # S3 refuses a policy while the public access block is being changed.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.public_access_block]),
        )
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            naming.name("exports-lifecycle", env),
            bucket=self.bucket.id,
            rules=[
                {
                    "id": "expire-old-versions",
                    "status": "Enabled",
                    "filter": {"prefix": ""},
                    "noncurrent_version_expiration": {"noncurrent_days": args.noncurrent_days},
                    "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
                }
            ],
            # A lifecycle rule on noncurrent versions needs versioning on first.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.versioning]),
        )
        self.bucket_name = self.bucket.id
        self.bucket_arn = self.bucket.arn
        self.register_outputs({"bucket": self.bucket.id, "bucket_arn": self.bucket.arn})
