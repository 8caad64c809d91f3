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
                attributes=[{"name": n, "type": t} for n, t in spec.attributes],
                global_secondary_indexes=list(spec.global_indexes) or None,
                local_secondary_indexes=list(spec.local_indexes) or None,
                stream_enabled=spec.stream_view_type is not None,
                stream_view_type=spec.stream_view_type,
                ttl={"enabled": True, "attribute_name": spec.ttl_attribute},
                point_in_time_recovery={"enabled": True},
                # Encrypted at rest with the AWS-managed DynamoDB key (or the schema's own key).
                server_side_encryption={"enabled": True, "kms_key_arn": spec.sse_kms_key},
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
