"""The encryption key and the bucket whose objects are indexed (plus its access-log bucket)."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from weir_files import naming
from weir_files.suppress import checkov


class FilesKey(Construct):
    """One customer-managed key (rotated yearly) for the bucket, table, queue, topic and logs."""

    def __init__(self, scope: Construct, id: str, *, environment: str) -> None:
        super().__init__(scope, id)
        self.key = kms.Key(
            self, "Key",
            alias=naming.key_alias(environment),
            description=f"Weir files ({environment}): bucket, catalog, dead-letter queue, alarms, logs",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        # CloudWatch alarms publish to the KMS-encrypted alarm topic.
        self.key.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],
        ))
        # CloudWatch Logs encrypts the function's log group with it.
        self.key.add_to_resource_policy(iam.PolicyStatement(
            principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
            actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            resources=["*"],
            conditions={"ArnLike": {
                "kms:EncryptionContext:aws:logs:arn":
                    f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
            }},
        ))


class FilesBucket(Construct):
    def __init__(self, scope: Construct, id: str, *, environment: str, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.access_logs = s3.Bucket(
            self, "AccessLogs",
            bucket_name=naming.log_bucket(environment, Aws.ACCOUNT_ID, Aws.REGION),
            # Server access log delivery writes with SSE-S3 only.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            public_read_access=False,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[s3.LifecycleRule(
                expiration=Duration.days(90),
                noncurrent_version_expiration=Duration.days(7),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )],
            removal_policy=RemovalPolicy.RETAIN,
        )
        checkov(self.access_logs, CKV_AWS_18="this is the access-log target; logging its own access would loop")
        self.bucket = s3.Bucket(
            self, "Bucket",
            bucket_name=naming.bucket(environment, Aws.ACCOUNT_ID, Aws.REGION),
            encryption=s3.BucketEncryption.KMS,
            encryption_key=key,
            bucket_key_enabled=True,  # one data key per bucket, not per object: fewer KMS calls
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            public_read_access=False,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,  # ACLs disabled
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="bucket/",
            lifecycle_rules=[s3.LifecycleRule(
                noncurrent_version_expiration=Duration.days(90),
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )],
            removal_policy=RemovalPolicy.RETAIN,
        )
