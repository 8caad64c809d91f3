"""infra/metrics under Pulumi's mocks: every setting the issue and the seed list, read from
the resources' resolved outputs inside `@pulumi.runtime.test` (see `pulumi_stack.check`).

Expected values come from Weir's code (table schemas, variable names, handlers) or are
spelled out here; none is read back from the stack's own constants, so a wrong constant
in infra/ fails a test instead of agreeing with itself.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pulumi_aws", reason="pulumi-aws is in the `infra` extra; `make test` installs it")

from tests.infra.pulumi_stack import ENVIRONMENT, REGION, check  # noqa: E402
from weir import config  # noqa: E402
from weir.backends.aws import key_schema as keys  # noqa: E402
from weir.backends.aws import tables  # noqa: E402

TAGS = {"environment": "test", "project": "weir", "owner": "metrics-team@example.com", "cost-centre": "cc-1234"}


def schemas() -> dict[str, dict]:
    """Every table schema Weir defines, found independently of infra's own discovery."""
    return {name[: -len("_TABLE_SCHEMA")]: value for name, value in vars(tables).items()
            if name.endswith("_TABLE_SCHEMA") and isinstance(value, dict)}


@pytest.fixture(scope="module")
def p(metrics_stack):
    return metrics_stack.program


# --- DynamoDB ----------------------------------------------------------------------------

def test_a_table_for_every_schema_and_nothing_else(p, metrics_stack):
    assert set(p.storage.tables) == set(schemas()) >= {"METRICS", "SERIES"}
    assert len(metrics_stack.of_type("aws:dynamodb/table:Table")) == len(schemas())
    assert not [r for r in metrics_stack.resources if "timestream" in r.type.lower()]  # the seed's fix #1


@pytest.mark.parametrize("key", sorted(schemas()))
def test_table_keys_ttl_pitr_encryption_billing(p, key):
    schema = schemas()[key]
    table = p.storage.tables[key]
    want_hash = next(k["AttributeName"] for k in schema["KeySchema"] if k["KeyType"] == "HASH")
    want_range = next((k["AttributeName"] for k in schema["KeySchema"] if k["KeyType"] == "RANGE"), None)
    want_attrs = {(a["AttributeName"], a["AttributeType"]) for a in schema["AttributeDefinitions"]}

    def verify(hash_key, range_key, attributes, billing, ttl, pitr, sse, tags):
        assert (hash_key, range_key) == (want_hash, want_range)
        assert {(a["name"], a["type"]) for a in attributes} == want_attrs
        assert billing == "PAY_PER_REQUEST"
        assert ttl == {"enabled": True, "attribute_name": "ttl"}
        assert pitr["enabled"] is True
        assert sse["enabled"] is True
        assert tags == TAGS

    check(verify, table.hash_key, table.range_key, table.attributes, table.billing_mode, table.ttl,
          table.point_in_time_recovery, table.server_side_encryption, table.tags)


def test_time_series_table_streams_new_and_old_images(p):
    table = p.storage.tables["METRICS"]

    def verify(enabled, view, arn):
        assert enabled is True and view == "NEW_AND_OLD_IMAGES"
        assert arn.startswith(f"arn:aws:dynamodb:{REGION}:") and "/stream/" in arn

    check(verify, table.stream_enabled, table.stream_view_type, table.stream_arn)


# --- the stream wiring ---------------------------------------------------------------------

def test_stream_mapping_partial_batches_dead_letters_and_filter(p):
    mapping, table = p.stream_trigger.mapping, p.storage.tables["METRICS"]

    def verify(source, target, types, destination, criteria, position, stream_arn, fn_arn, dlq_arn):
        assert source == stream_arn and target == fn_arn
        assert types == ["ReportBatchItemFailures"]
        assert destination["on_failure"]["destination_arn"] == dlq_arn
        assert [json.loads(f["pattern"]) for f in criteria["filters"]] == [keys.STREAM_FILTER_PATTERN]
        assert position == "TRIM_HORIZON"

    check(verify, mapping.event_source_arn, mapping.function_name, mapping.function_response_types,
          mapping.destination_config, mapping.filter_criteria, mapping.starting_position, table.stream_arn,
          p.functions["stream"].function.arn, p.stream_dlq.queue.arn)


@pytest.mark.parametrize("queue", ["stream_dlq", "critical"])
def test_queues_are_encrypted_with_the_stack_key(p, queue):
    q = p.stream_dlq.queue if queue == "stream_dlq" else p.alert_topic.critical_queue.queue

    def verify(key, key_arn, retention):
        assert key == key_arn
        assert retention == 14 * 86400

    check(verify, q.kms_master_key_id, p.encryption.key.arn, q.message_retention_seconds)


# --- functions --------------------------------------------------------------------------------

FUNCTIONS = ("api", "stream", "alerts", "exporter")


def test_four_functions_with_their_handlers(p):
    assert set(p.functions) == set(FUNCTIONS)

    def verify(*handlers):
        assert list(handlers) == [f"weir.lambdas.{fn}.handler" for fn in FUNCTIONS]

    check(verify, *[p.functions[fn].function.handler for fn in FUNCTIONS])


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_function_runtime_memory_tracing_logs(p, fn):
    f = p.functions[fn]
    want_concurrency = {"api": 100, "stream": 10, "alerts": 1, "exporter": 1}[fn]

    def verify(name, runtime, arch, memory, concurrency, tracing, logging_config, lg_name, retention, tags, lg_tags):
        assert name == f"weir-{fn}-{ENVIRONMENT}"
        assert runtime == "python3.12" and arch == ["arm64"]
        assert memory == 512
        assert concurrency == want_concurrency
        assert tracing == {"mode": "Active"}
        assert lg_name == f"/aws/lambda/{name}" and logging_config["log_group"] == lg_name
        assert retention == 7
        assert tags == TAGS and lg_tags == TAGS

    check(verify, f.function.name, f.function.runtime, f.function.architectures, f.function.memory_size,
          f.function.reserved_concurrent_executions, f.function.tracing_config, f.function.logging_config,
          f.log_group.name, f.log_group.retention_in_days, f.function.tags, f.log_group.tags)


def expected_variables(fn: str) -> set[str]:
    """What the code says each function reads, and the resource each variable names."""
    mapping = getattr(config, "FUNCTION_ENV", None)
    if mapping is None:  # this branch: the stack derives it (contract.derived_function_env)
        base = set(config.LAMBDA_ENV)
        alerting = {config.ENV_ALERT_CONFIG_TABLE, config.ENV_ALERT_TOPIC_ARN}
        mapping = {"api": base | alerting, "stream": base, "alerts": base | alerting,
                   "exporter": base | {config.ENV_METRICS_BUCKET}}
    return set(mapping[fn])


@pytest.mark.parametrize("fn", FUNCTIONS)
def test_function_environment_is_what_the_code_reads(p, fn):
    tables_by_var = {config.ENV_METRICS_TABLE: p.storage.tables["METRICS"],
                     config.ENV_SERIES_TABLE: p.storage.tables["SERIES"]}
    if "ALERTS" in p.storage.tables:
        tables_by_var[config.ENV_ALERT_CONFIG_TABLE] = p.storage.tables["ALERTS"]
    wanted = {v for v in expected_variables(fn)
              if v != config.ENV_ALERT_CONFIG_TABLE or config.ENV_ALERT_CONFIG_TABLE in tables_by_var}

    def verify(environment, metrics_id, series_id, topic_arn, bucket_id):
        variables = environment["variables"]
        assert set(variables) == wanted
        assert not set(variables) & {"AWS_REGION", "AWS_DEFAULT_REGION"}  # the runtime sets the region
        names = {config.ENV_METRICS_TABLE: metrics_id, config.ENV_SERIES_TABLE: series_id,
                 config.ENV_ALERT_TOPIC_ARN: topic_arn, config.ENV_METRICS_BUCKET: bucket_id,
                 config.ENV_ENVIRONMENT: ENVIRONMENT, config.ENV_RETENTION: "30d",
                 config.ENV_WEBHOOK_ALLOW: "none"}  # webhooks from AWS: public addresses only
        for var, value in variables.items():
            if var in names:
                assert value == names[var], var

    check(verify, p.functions[fn].function.environment, p.storage.tables["METRICS"].id,
          p.storage.tables["SERIES"].id, p.alert_topic.topic.arn, p.exports.bucket.id)


def test_each_function_has_its_own_role(p):
    def verify(*roles):
        assert len(set(roles)) == len(FUNCTIONS)

    check(verify, *[p.functions[fn].function.role for fn in FUNCTIONS])


# --- the export bucket --------------------------------------------------------------------

def test_bucket_versioned_aes256_private_tls_only_with_lifecycle(p, metrics_stack):
    b = p.exports

    def verify(bucket_id, arn, versioning, sse_rules, blocked, ignored, block_policy, restrict, ownership, policy,
               rules, tags):
        assert versioning["status"] == "Enabled"
        assert [r["apply_server_side_encryption_by_default"]["sse_algorithm"] for r in sse_rules] == ["AES256"]
        assert (blocked, ignored, block_policy, restrict) == (True, True, True, True)
        assert ownership["object_ownership"] == "BucketOwnerEnforced"
        deny = [s for s in json.loads(policy)["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   and set(s["Resource"]) == {arn, f"{arn}/*"} and s["Principal"] == "*" for s in deny)
        [rule] = rules
        assert rule["status"] == "Enabled" and rule["noncurrent_version_expiration"]["noncurrent_days"] == 30
        assert rule["abort_incomplete_multipart_upload"]["days_after_initiation"] == 1
        assert tags == TAGS

    check(verify, b.bucket.id, b.bucket.arn, b.versioning.versioning_configuration, b.encryption.rules,
          b.public_access_block.block_public_acls, b.public_access_block.ignore_public_acls,
          b.public_access_block.block_public_policy, b.public_access_block.restrict_public_buckets,
          b.ownership.rule, b.policy.policy, b.lifecycle.rules, b.bucket.tags)


def test_no_bucket_acls_anywhere(metrics_stack):
    """The seed's fix #3: ACLs are disabled on new buckets; the stack never sets one."""
    assert not [r for r in metrics_stack.resources if "bucketAcl" in r.type]
    for r in metrics_stack.of_type("aws:s3/bucket:Bucket"):
        assert "acl" not in r.inputs and "grants" not in r.inputs


# --- SNS and KMS ---------------------------------------------------------------------------

def test_topic_encrypted_with_a_key_cloudwatch_may_use(p):
    def verify(topic_key, key_arn, key_policy, rotation):
        assert topic_key == key_arn
        assert rotation is True
        statements = json.loads(key_policy)["Statement"]
        cw = [s for s in statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
        assert cw and {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cw[0]["Action"]) and cw[0]["Effect"] == "Allow"

    check(verify, p.alert_topic.topic.kms_master_key_id, p.encryption.key.arn, p.encryption.key.policy,
          p.encryption.key.enable_key_rotation)


def test_example_subscriptions_filter_on_attributes_weir_publishes(p):
    from weir.metrics.alerts.model import AlertEvent
    from weir.metrics.alerts.notify import attributes

    published = set(attributes(AlertEvent(**_sample_event())))
    subs = p.alert_topic.subscriptions
    assert {"critical-queue", "alert-email", "ops-email"} == set(subs)

    def verify(queue_filter, queue_endpoint, queue_arn, email_filter, email_protocol, topic_arn, sub_topic):
        critical = json.loads(queue_filter)
        assert critical == {"severity": ["critical"]}
        assert queue_endpoint == queue_arn and sub_topic == topic_arn
        assert email_protocol == "email" and json.loads(email_filter)["severity"] == ["critical"]
        assert set(critical) | set(json.loads(email_filter)) <= published

    check(verify, subs["critical-queue"].filter_policy, subs["critical-queue"].endpoint,
          p.alert_topic.critical_queue.queue.arn, subs["alert-email"].filter_policy, subs["alert-email"].protocol,
          p.alert_topic.topic.arn, subs["critical-queue"].topic)


def _sample_event() -> dict:
    return {"event_id": "e1", "kind": "transition", "rule_id": "r-1", "rule_name": "cpu high", "metric": "cpu",
            "group": {}, "previous_state": "OK", "state": "ALARM", "severity": "critical", "reason": "x",
            "value": 95.0, "threshold": 90.0, "comparison": ">", "statistic": "max", "period": 60, "labels": {},
            "at": "2026-01-01T00:00:00Z"}


# --- EventBridge -----------------------------------------------------------------------------

def test_schedules_hourly_exporter_and_one_minute_alerts(p):
    def verify(export_expr, alerts_expr):
        minute, hour, *_ = export_expr.removeprefix("cron(").removesuffix(")").split()
        assert minute.isdigit() and hour == "*"  # once an hour, at a fixed minute
        assert alerts_expr == "rate(1 minute)"

    check(verify, p.exporter_schedule.rule.schedule_expression, p.alerts_schedule.rule.schedule_expression)


@pytest.mark.parametrize("fn", ["exporter", "alerts"])
def test_schedule_targets_and_permissions(p, fn):
    schedule = p.exporter_schedule if fn == "exporter" else p.alerts_schedule
    f = p.functions[fn].function

    def verify(target_arn, fn_arn, rule_name, target_rule, principal, source, rule_arn, perm_fn, fn_name, state):
        assert target_arn == fn_arn and target_rule == rule_name
        assert principal == "events.amazonaws.com" and source == rule_arn and perm_fn == fn_name
        assert state == "ENABLED"

    check(verify, schedule.target.arn, f.arn, schedule.rule.name, schedule.target.rule, schedule.permission.principal,
          schedule.permission.source_arn, schedule.rule.arn, schedule.permission.function, f.name, schedule.rule.state)


# --- CloudWatch alarms ---------------------------------------------------------------------------

def test_alarms_on_errors_throttles_and_iterator_age_notify_the_topic(p):
    alarms = p.alarms.alarms
    wanted = {f"{fn}-{m}" for fn in FUNCTIONS for m in ("errors", "throttles")} | {"stream-iterator-age"}
    assert wanted <= set(alarms)
    outputs = []
    for unit in sorted(wanted):
        a = alarms[unit]
        outputs += [a.namespace, a.metric_name, a.dimensions, a.alarm_actions]

    def verify(topic_arn, *values):
        names = {fn: f"weir-{fn}-{ENVIRONMENT}" for fn in FUNCTIONS}
        for i, unit in enumerate(sorted(wanted)):
            namespace, metric, dims, actions = values[4 * i: 4 * i + 4]
            fn = unit.split("-")[0]
            assert namespace == "AWS/Lambda" and dims == {"FunctionName": names[fn]}
            wanted_metric = {"errors": "Errors", "throttles": "Throttles", "iterator": "IteratorAge"}
            assert metric == wanted_metric[unit.split("-")[1]]
            assert actions == [topic_arn]

    check(verify, p.alert_topic.topic.arn, *outputs)


# --- API Gateway ------------------------------------------------------------------------------------

def test_api_binary_media_types_for_protobuf_and_gzip(p):
    """OTLP protobuf, Prometheus remote write/read (snappy protobuf, both ways) and gzip bodies
    are binary; `*/*` also turns remote read's answers back into bytes for a client that sends
    no `Accept` (Prometheus)."""

    def verify(types):
        assert {"application/x-protobuf", "application/gzip", "*/*"} <= set(types)

    check(verify, p.api.rest_api.binary_media_types)


def test_api_methods_proxy_to_the_api_function_writes_need_a_key(p):
    methods, integrations = p.api.methods, p.api.integrations
    assert {(path, verb) for path, verb in methods} == {
        (path, verb) for path in ("/", "/{proxy+}") for verb in ("GET", "POST", "PUT", "DELETE")} | {
        ("/health", "GET"), ("/ping", "GET"), ("/ui", "GET"), ("/ui/{proxy+}", "GET")}
    keys_ = list(methods)
    outputs = [o for k in keys_ for o in (methods[k].api_key_required, integrations[k].type, integrations[k].uri,
                                          integrations[k].integration_http_method)]

    def verify(invoke_arn, *values):
        for i, (path, verb) in enumerate(keys_):
            required, kind, uri, via = values[4 * i: 4 * i + 4]
            assert kind == "AWS_PROXY" and uri == invoke_arn and via == "POST"
            if verb in ("POST", "PUT", "DELETE"):
                assert required is True, (path, verb)
            elif path in ("/health", "/ping", "/", "/ui", "/ui/{proxy+}"):
                assert required is False  # no data: health, ping, and the web UI's files (it asks for a key)
            else:
                assert required is True, (path, verb)  # openReads is off by default

    check(verify, p.functions["api"].function.invoke_arn, *outputs)


def test_stage_named_after_environment_with_xray_and_usage_plan(p):
    api = p.api

    def verify(stage_name, xray, plan_stages, rest_api_id, throttle, quota, key_id, plan_key_id, key_type, plan_id,
               plan_key_plan, url):
        assert stage_name == ENVIRONMENT and xray is True
        assert plan_stages == [{"api_id": rest_api_id, "stage": ENVIRONMENT}]
        assert throttle["rate_limit"] > 0 and throttle["burst_limit"] > 0
        assert quota["limit"] > 0 and quota["period"] == "DAY"
        assert plan_key_id == key_id and key_type == "API_KEY" and plan_key_plan == plan_id
        assert url == f"https://{rest_api_id}.execute-api.{REGION}.amazonaws.com/{ENVIRONMENT}"

    check(verify, api.stage.stage_name, api.stage.xray_tracing_enabled, api.usage_plan.api_stages, api.rest_api.id,
          api.usage_plan.throttle_settings, api.usage_plan.quota_settings, api.api_key.id, api.usage_plan_key.key_id,
          api.usage_plan_key.key_type, api.usage_plan.id, api.usage_plan_key.usage_plan_id, api.stage.invoke_url)


def test_api_gateway_may_invoke_only_from_this_stage(p):
    def verify(principal, source, stage_arn, fn, fn_name):
        assert principal == "apigateway.amazonaws.com" and fn == fn_name
        assert source == f"{stage_arn}/*/*"

    check(verify, p.api.permission.principal, p.api.permission.source_arn, p.api.stage.execution_arn,
          p.api.permission.function, p.functions["api"].function.name)


def test_gateway_errors_use_weirs_error_shape(p):
    def verify(*templates):
        for t in templates:
            body = t["application/json"]
            assert '"error"' in body and '"message"' in body

    check(verify, *[r.response_templates for r in p.api.responses])


# --- outputs ----------------------------------------------------------------------------------------

def test_outputs_name_the_physical_resources(p, metrics_stack):
    """The seed's fix #2: outputs use attributes the resources have (`.id`, `.arn`); each one
    resolves to the id or ARN the (mock) provider gave that resource."""
    def registered(kind: str, name: str):
        return metrics_stack.one(f"aws:{kind}", f"{name}-{ENVIRONMENT}")

    out = p.outputs

    def verify(api_url, topic_arn, bucket, metrics_table, series_table, tables_, functions_, stage_url):
        assert api_url == stage_url and f".execute-api.{REGION}." in api_url
        assert topic_arn == registered("sns/topic:Topic", "weir-alerts").outputs["arn"]
        assert bucket == registered("s3/bucket:Bucket", "weir-exports").id
        assert metrics_table == registered("dynamodb/table:Table", "weir-metrics").id == tables_["metrics"]
        assert series_table == registered("dynamodb/table:Table", "weir-series").id == tables_["series"]
        assert set(tables_) == {k.lower() for k in schemas()}
        assert functions_ == {fn: f"weir-{fn}-{ENVIRONMENT}" for fn in FUNCTIONS}

    check(verify, out["api_url"], out["alert_topic_arn"], out["export_bucket"], out["metrics_table"],
          out["series_table"], out["tables"], out["functions"], p.api.stage.invoke_url)
    assert out["region"] == REGION and out["environment"] == ENVIRONMENT


def test_api_key_output_is_secret(p):
    from pulumi.runtime.sync_await import _sync_await

    from tests.infra.pulumi_stack import use_loop

    use_loop()
    assert _sync_await(p.outputs["api_key"].is_secret()) is True
    check(lambda value: value.startswith("mock-key-") or pytest.fail(value), p.outputs["api_key"])
