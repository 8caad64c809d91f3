"""Weir's metrics system on AWS: `make lambda-zip`, then `pulumi up` from this folder.

Configuration and composition only: the settings are read and checked
(`weir_metrics.settings`), what the code defines is read from the code
(`weir_metrics.contract`), and the components are wired together. Every resource goes
through one explicit AWS provider whose region is `aws:region` (default us-east-1), so the
region is chosen once and used everywhere, ARNs and the API URL included.
docs/deploy.md explains the keys and the steps.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pulumi
import pulumi_aws as aws

sys.path.insert(0, str(Path(__file__).resolve().parent))

from weir_metrics import contract, grants, naming
from weir_metrics import settings as stack_settings
from weir_metrics.alarms import Alarms, AlarmsArgs
from weir_metrics.alerting import AlertTopic, AlertTopicArgs
from weir_metrics.api import Api, ApiArgs
from weir_metrics.encryption import Encryption, EncryptionArgs
from weir_metrics.exports import ExportBucket, ExportBucketArgs
from weir_metrics.functions import Function, FunctionArgs
from weir_metrics.queues import EncryptedQueue, EncryptedQueueArgs
from weir_metrics.schedules import ALERTS_SCHEDULE, EXPORT_SCHEDULE, Schedule, ScheduleArgs
from weir_metrics.storage import Storage, StorageArgs
from weir_metrics.stream import StreamTrigger, StreamTriggerArgs

from weir import config as weir_config

# --- configuration ---------------------------------------------------------------------
settings = stack_settings.read(pulumi.Config(), pulumi.Config("aws"), stack=pulumi.get_stack())
env, tags = settings.environment, settings.tags
tables = contract.table_specs()
code = pulumi.FileArchive(str(stack_settings.check_bundle(settings.lambda_zip)))

provider = aws.Provider(naming.name("aws", env), region=settings.region)
opts = pulumi.ResourceOptions(providers={"aws": provider})
on_provider = pulumi.InvokeOutputOptions(provider=provider)
account_id = aws.get_caller_identity_output(opts=on_provider).account_id
partition = aws.get_partition_output(opts=on_provider).partition

# --- data, messaging, exports --------------------------------------------------------------
encryption = Encryption(naming.name("encryption", env), EncryptionArgs(
    environment=env, account_id=account_id, partition=partition, region=settings.region, tags=tags), opts)
storage = Storage(naming.name("storage", env), StorageArgs(
    environment=env, tables=tables, tags=tags, deletion_protection=settings.deletion_protection), opts)
exports = ExportBucket(naming.name("export-bucket", env), ExportBucketArgs(
    environment=env, tags=tags, noncurrent_days=settings.export_noncurrent_days,
    force_destroy=settings.force_destroy_bucket), opts)
alert_topic = AlertTopic(naming.name("alert-topic", env), AlertTopicArgs(
    environment=env, key_arn=encryption.key_arn, tags=tags, alert_email=settings.alert_email,
    ops_email=settings.ops_email), opts)
stream_dlq = EncryptedQueue(naming.name("stream-dlq-queue", env), EncryptedQueueArgs(
    environment=env, unit="stream-dlq", key_arn=encryption.key_arn, tags=tags), opts)

# --- the functions, with exactly the variables the code reads ---------------------------------
values: dict[str, pulumi.Input[str]] = {
    weir_config.ENV_ENVIRONMENT: env,
    weir_config.ENV_RETENTION: settings.retention,
    weir_config.ENV_ALERT_TOPIC_ARN: alert_topic.topic_arn,
    weir_config.ENV_METRICS_BUCKET: exports.bucket_name,
    weir_config.ENV_EXPORT_FORMAT: "jsonl",  # the bundle has no pyarrow, so no Parquet
    weir_config.ENV_WEBHOOK_ALLOW: settings.webhook_allow,  # "none": webhooks to public addresses only
    **{var: table.id for var, table in storage.by_env_var().items()},
}
function_env = contract.function_env(set(values))
for fn, dropped in function_env.dropped.items():
    pulumi.log.warn(f"function {fn}: {', '.join(dropped)} not set: no resource provides it on this branch")
for fn in contract.FUNCTIONS:
    if not contract.handler_module_exists(fn):
        pulumi.log.warn(f"{contract.handler(fn)} is not in this checkout: the {fn} function is deployed "
                        "but fails to start until that module exists")

functions = {
    fn: Function(naming.name(f"{fn}-function", env), FunctionArgs(
        function=fn,
        environment=env,
        code=code,
        variables={var: values[var] for var in function_env.variables[fn]},
        statements=grants.statements(
            fn, function_env.variables[fn], storage=storage, topic=alert_topic, exports=exports,
            encryption=encryption, stream_dlq=stream_dlq if fn == "stream" else None,
            stream_table=contract.STREAM_TABLE if fn == "stream" else None),
        tags=tags,
        memory_mb=settings.memory_mb,
        timeout_seconds=settings.timeouts[fn],
        reserved_concurrency=settings.reserved_concurrency[fn],
        log_retention_days=settings.log_retention_days,
    ), opts)
    for fn in contract.FUNCTIONS
}

# --- triggers: stream, API, schedules ------------------------------------------------------
stream_trigger = StreamTrigger(naming.name("stream-trigger", env), StreamTriggerArgs(
    environment=env, stream_arn=storage.tables[contract.STREAM_TABLE].stream_arn,
    function_arn=functions["stream"].function.arn, dead_letter_arn=stream_dlq.queue.arn, tags=tags,
    filter_pattern=contract.stream_filter_pattern()),
    # Lambda checks the role can read the stream and reach the queue when the mapping is created.
    pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[functions["stream"].policy])))
api = Api(naming.name("rest-api", env), ApiArgs(
    environment=env, function_name=functions["api"].function.name,
    invoke_arn=functions["api"].function.invoke_arn, tags=tags, open_reads=settings.open_reads,
    rate_limit=settings.rate_limit, burst_limit=settings.burst_limit, quota_per_day=settings.quota_per_day), opts)
exporter_schedule = Schedule(naming.name("exporter-schedule", env), ScheduleArgs(
    environment=env, unit="exporter-schedule", schedule_expression=EXPORT_SCHEDULE,
    function_arn=functions["exporter"].function.arn, function_name=functions["exporter"].function.name,
    description="Weir: export the hour that just closed", tags=tags), opts)
alerts_schedule = Schedule(naming.name("alerts-schedule", env), ScheduleArgs(
    environment=env, unit="alerts-schedule", schedule_expression=ALERTS_SCHEDULE,
    function_arn=functions["alerts"].function.arn, function_name=functions["alerts"].function.name,
    description="Weir: evaluate every alert rule", tags=tags,
    maximum_event_age_seconds=60, maximum_retry_attempts=0), opts)  # the next minute's run covers a miss
alarms = Alarms(naming.name("alarms", env), AlarmsArgs(
    environment=env, topic_arn=alert_topic.topic_arn,
    function_names={fn: f.function.name for fn, f in functions.items()}, tags=tags,
    dead_letter_queue_name=stream_dlq.queue.name), opts)

# --- outputs (the e2e suite reads these: `pulumi stack output --json --show-secrets`) -------------
outputs: dict[str, pulumi.Input] = {
    "environment": env,
    "region": settings.region,
    "api_url": api.url,
    "api_key_id": api.api_key.id,
    "api_key": pulumi.Output.secret(api.api_key.value),
    "alert_topic_arn": alert_topic.topic_arn,
    "export_bucket": exports.bucket_name,
    "tables": {spec.slug: storage.tables[spec.key].id for spec in tables},
    **{f"{spec.slug.replace('-', '_')}_table": storage.tables[spec.key].id for spec in tables},
    "functions": {fn: f.function.name for fn, f in functions.items()},
    "stream_dead_letter_queue_url": stream_dlq.queue.url,
    "critical_alerts_queue_url": alert_topic.critical_queue.queue.url,
    "function_env_source": function_env.source,
}
for key, value in outputs.items():
    pulumi.export(key, value)
