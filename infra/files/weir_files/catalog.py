"""The file-metadata table (`file-metadata-table-{env}`, the seed's name)."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from weir import config
from weir_files import naming


class FileCatalogTable(Construct):
    def __init__(self, scope: Construct, id: str, *, environment: str, key: kms.IKey) -> None:
        super().__init__(scope, id)
        self.table = dynamodb.Table(
            self, "Table",
            table_name=naming.table(environment),
            partition_key=dynamodb.Attribute(name=config.FILES_TABLE_PK, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=config.FILES_TABLE_SK, type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=key,
            time_to_live_attribute=config.FILES_TTL_ATTRIBUTE,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
