"""The file_indexer function, its dead-letter queue and the alarm on that queue's depth.

S3 invokes the function asynchronously. Lambda retries a failed invocation twice, then
sends the event, with the function's structured error, to the on-failure destination
(an SQS queue kept 14 days); an alarm fires on the first message there.

The role is written out rather than taken from the managed basic-execution policy, so it
holds exactly: log writes to its own log group, HeadObject on the bucket's objects
(s3:GetObject, s3:GetObjectVersion — nothing to list, nothing to write), and PutItem on
the table. Every write the indexer makes is a conditional PutItem (tombstones too), so it
needs no UpdateItem or DeleteItem.
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from weir import config
from weir_files import naming
from weir_files.bundling import lambda_code
from weir_files.suppress import cfn_lint, checkov

HANDLER = "weir.lambdas.file_indexer.handler"


class FileIndexer(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment: str,
        deletion: str,
        bucket: s3.IBucket,
        table: dynamodb.ITable,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, id)
        name = naming.function(environment)
        self.dlq = sqs.Queue(
            self, "DeadLetterQueue",
            queue_name=naming.dlq(environment),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.log_group = logs.LogGroup(
            self, "Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=logs.RetentionDays.ONE_MONTH,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.role = iam.Role(
            self, "Role",
            role_name=f"{name}-{Aws.REGION}",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"weir file_indexer ({environment})",
        )
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[self.log_group.log_group_arn],
        ))
        self.role.add_to_policy(iam.PolicyStatement(
            actions=["s3:GetObject", "s3:GetObjectVersion"],
            resources=[bucket.arn_for_objects("*")],
        ))
        table.grant(self.role, "dynamodb:PutItem")
        # The table, the queue and the bucket's objects are encrypted with the key: DynamoDB
        # and SQS writes need data keys, HeadObject with checksums needs Decrypt.
        key.grant_encrypt_decrypt(self.role)
        self.function = lambda_.Function(
            self, "Function",
            function_name=name,
            description="Indexes S3 object events into the file-metadata catalog",
            runtime=lambda_.Runtime.PYTHON_3_12,
            architecture=lambda_.Architecture.ARM_64,
            handler=HANDLER,
            code=lambda_code(),
            memory_size=256,
            timeout=Duration.seconds(60),
            role=self.role,
            log_group=self.log_group,
            environment_encryption=key,
            # Exactly what the code reads (weir.config.FILE_INDEXER_ENV); the region is the
            # runtime's own AWS_REGION, which may not be set here.
            environment={
                config.ENV_FILES_TABLE: table.table_name,
                config.ENV_FILES_DELETION: deletion,
                config.ENV_ENVIRONMENT: environment,
            },
            on_failure=destinations.SqsDestination(self.dlq),
            retry_attempts=2,
            max_event_age=Duration.hours(6),
        )
        # CDK makes the function DependsOn its role and policy (so the policy exists before
        # the first invocation); the role part repeats the GetAtt and cfn-lint notes it.
        cfn_lint(self.function, "W3005")
        checkov(
            self.function,
            CKV_AWS_116="failed async invocations go to an on-failure destination (SQS), which "
                        "records the error too; a DeadLetterConfig would duplicate it",
            CKV_AWS_117="the function calls only S3 and DynamoDB APIs; a VPC would add NAT or "
                        "endpoints and protect nothing here",
            CKV_AWS_115="reserved concurrency can fail deployment in accounts with low limits; "
                        "DynamoDB on-demand absorbs the write bursts",
        )
        self.topic = sns.Topic(
            self, "AlarmTopic",
            topic_name=naming.topic(environment),
            master_key=key,
            enforce_ssl=True,
        )
        self.alarm = cloudwatch.Alarm(
            self, "DeadLetterAlarm",
            alarm_name=naming.alarm(environment),
            alarm_description="Object events failed indexing and wait in the dead-letter queue",
            metric=self.dlq.metric_approximate_number_of_messages_visible(
                period=Duration.minutes(1), statistic="Maximum"
            ),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.alarm.add_alarm_action(cw_actions.SnsAction(self.topic))
