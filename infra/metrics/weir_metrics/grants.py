"""Each function's IAM statements as an Output: the ARNs of the components, resolved,
handed to `access.statements` (which holds the policy decisions)."""

from __future__ import annotations

import pulumi

from weir import config as weir_config
from weir_metrics import access
from weir_metrics.alerting import AlertTopic
from weir_metrics.encryption import Encryption
from weir_metrics.exports import ExportBucket
from weir_metrics.queues import EncryptedQueue
from weir_metrics.storage import Storage


def statements(function: str, variables: tuple[str, ...], *, storage: Storage, topic: AlertTopic,
               exports: ExportBucket, encryption: Encryption, stream_dlq: EncryptedQueue | None = None,
               stream_table: str | None = None) -> pulumi.Output[list]:
    tables = storage.by_env_var()
    stream_arn = storage.tables[stream_table].stream_arn if stream_table else None
    return pulumi.Output.all(
        table_arns={var: t.arn for var, t in tables.items()},
        topic=topic.topic_arn,
        bucket=exports.bucket_arn,
        key=encryption.key_arn,
        stream=stream_arn,
        dlq=stream_dlq.queue.arn if stream_dlq is not None else None,
    ).apply(lambda v: access.statements(
        function,
        variables,
        access.Grants(
            tables={var: access.TableRef(storage.specs_by_env[var].key, arn,
                                         bool(storage.specs_by_env[var].global_indexes
                                              or storage.specs_by_env[var].local_indexes))
                    for var, arn in v["table_arns"].items()},
            topic_arn=v["topic"],
            bucket_arn=v["bucket"],
            key_arn=v["key"],
            stream_arn=v["stream"],
            dlq_arn=v["dlq"],
        ),
        topic_var=weir_config.ENV_ALERT_TOPIC_ARN,
        bucket_var=weir_config.ENV_METRICS_BUCKET,
    ))
