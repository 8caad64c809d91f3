"""The stack: it composes the constructs, wires the notifications, tags, and outputs.

`bucket.add_event_notification` also adds a custom resource (Custom::S3BucketNotifications)
and its helper Lambda (BucketNotificationsHandler...) to the template: CDK's way of
setting a notification configuration without replacing the bucket. The scanners' findings
on that helper are suppressed below with the reasons.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, CfnResource, Stack, Tags
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_notifications as s3n
from constructs import Construct

from weir.files.service import DELETION_MODES
from weir_files import naming
from weir_files.catalog import FileCatalogTable
from weir_files.indexer import FileIndexer
from weir_files.storage import FilesBucket, FilesKey
from weir_files.suppress import cfn_lint, checkov

NOTIFIED = (s3.EventType.OBJECT_CREATED, s3.EventType.OBJECT_REMOVED, s3.EventType.LIFECYCLE_EXPIRATION)


class FilesStack(Stack):
    def __init__(self, scope: Construct, id: str, *, environment: str, deletion: str = "tombstone", **kwargs) -> None:
        super().__init__(scope, id, **kwargs)
        naming.check_environment(environment)
        if deletion not in DELETION_MODES:
            raise ValueError(f"files_deletion {deletion!r} is not one of {', '.join(DELETION_MODES)}")
        key = FilesKey(self, "Key", environment=environment).key
        storage = FilesBucket(self, "Storage", environment=environment, key=key)
        catalog = FileCatalogTable(self, "Catalog", environment=environment, key=key)
        indexer = FileIndexer(
            self, "Indexer",
            environment=environment, deletion=deletion, bucket=storage.bucket, table=catalog.table, key=key,
        )
        for event in NOTIFIED:
            storage.bucket.add_event_notification(event, s3n.LambdaDestination(indexer.function))
        self._suppress_notification_helper()

        for k, v in {"project": "weir", "component": "files", "environment": environment}.items():
            Tags.of(self).add(k, v)

        CfnOutput(self, "BucketName", value=storage.bucket.bucket_name)
        CfnOutput(self, "TableName", value=catalog.table.table_name)
        CfnOutput(self, "FunctionName", value=indexer.function.function_name)
        CfnOutput(self, "DeadLetterQueueUrl", value=indexer.dlq.queue_url)
        CfnOutput(self, "AlarmTopicArn", value=indexer.topic.topic_arn)

    def _suppress_notification_helper(self) -> None:
        for child in self.node.children:
            if child.node.id.startswith("BucketNotificationsHandler"):
                for res in child.node.find_all():
                    if isinstance(res, CfnResource) and res.cfn_resource_type == "AWS::Lambda::Function":
                        # CDK makes the function DependsOn its role as well as GetAtt it.
                        cfn_lint(res, "W3005")
                        checkov(
                            res,
                            CKV_AWS_116="CDK's notification helper runs only inside CloudFormation "
                                        "deployments, which report its failures",
                            CKV_AWS_117="CDK's notification helper calls only the S3 API",
                            CKV_AWS_115="CDK's notification helper runs once per deployment",
                            CKV_AWS_173="CDK's notification helper has no environment variables",
                        )
