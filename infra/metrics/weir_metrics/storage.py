"""The DynamoDB tables: one per `<X>_TABLE_SCHEMA` in `weir.backends.aws.tables`.

Keys, attributes, billing, stream and encryption come from the schema (the same dict
`weir serve --create-tables` passes to CreateTable); this component adds what only a
deployment has: TTL, point-in-time recovery, deletion protection, names and tags.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from weir_metrics import TYPE_PREFIX, naming
from weir_metrics.contract import TableSpec


@dataclass
class StorageArgs:
    environment: str
    tables: Sequence[TableSpec]
    tags: pulumi.Input[dict[str, str]]
    deletion_protection: pulumi.Input[bool] = False


def _gsi(index: dict) -> aws.dynamodb.TableGlobalSecondaryIndexArgs:
    keys = [aws.dynamodb.TableGlobalSecondaryIndexKeySchemaArgs(**k) for k in index["key_schemas"]]
    return aws.dynamodb.TableGlobalSecondaryIndexArgs(
        name=index["name"], projection_type=index["projection_type"], key_schemas=keys,
        non_key_attributes=index.get("non_key_attributes"))


class Storage(pulumi.ComponentResource):
    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{TYPE_PREFIX}Storage", name, None, opts)
        self.specs = {spec.key: spec for spec in args.tables}
        self.specs_by_env = {spec.env_var: spec for spec in args.tables}
        self.tables: dict[str, aws.dynamodb.Table] = {}
        for spec in args.tables:
            self.tables[spec.key] = aws.dynamodb.Table(
                naming.name(spec.slug, args.environment),
                billing_mode=spec.billing_mode,
                hash_key=spec.hash_key,
                range_key=spec.range_key,
                attributes=[aws.dynamodb.TableAttributeArgs(name=n, type=t) for n, t in spec.attributes],
                global_secondary_indexes=[_gsi(i) for i in spec.global_indexes] or None,
                local_secondary_indexes=[aws.dynamodb.TableLocalSecondaryIndexArgs(**i) for i in spec.local_indexes]
                or None,
                stream_enabled=spec.stream_view_type is not None,
                stream_view_type=spec.stream_view_type,
                ttl=aws.dynamodb.TableTtlArgs(enabled=True, attribute_name=spec.ttl_attribute),
                point_in_time_recovery=aws.dynamodb.TablePointInTimeRecoveryArgs(enabled=True),
                # Always encrypted at rest: the AWS-managed DynamoDB key, or the schema's own key.
                server_side_encryption=aws.dynamodb.TableServerSideEncryptionArgs(enabled=True,
                                                                                  kms_key_arn=spec.sse_kms_key),
                table_class=spec.table_class,
                deletion_protection_enabled=args.deletion_protection,
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs({
            **{f"{spec.slug}_table": t.id for spec, t in zip(args.tables, self.tables.values())},
            **{f"{spec.slug}_table_arn": t.arn for spec, t in zip(args.tables, self.tables.values())},
        })

    def by_env_var(self) -> dict[str, aws.dynamodb.Table]:
        return {self.specs[key].env_var: table for key, table in self.tables.items()}
