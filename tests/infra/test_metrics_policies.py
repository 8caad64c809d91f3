"""Policy checks over every resource infra/metrics registers, as plain pytest.

Pulumi CrossGuard policy packs run inside the Pulumi engine (`pulumi preview --policy-pack`),
which needs the CLI this machine cannot download; these checks read the same resource
inputs from the mock engine instead, so they run in `make test` everywhere.
Each rule is stated in its test's docstring; allow-lists carry their reasons.
"""

from __future__ import annotations

import ast
import inspect
import json
import re
from functools import cache
from pathlib import Path

import pytest

pytest.importorskip("pulumi_aws", reason="pulumi-aws is in the `infra` extra; `make test` installs it")

from tests.infra.pulumi_stack import ENVIRONMENT, REGION, parse_policy  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
# Allow statements may name `*` as their resource only for actions AWS gives no
# resource-level permission.
STAR_RESOURCE_ACTIONS = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "dynamodb:ListStreams": "ListStreams has no resource-level permissions (Lambda's stream poller calls it)",
}
# Wildcards inside an ARN, as suffixes of an ARN this stack created.
ARN_WILDCARD_SUFFIXES = {
    ":*": "the log streams of the function's own log group",
    "/*": "the objects of the export bucket",
    "/index/*": "the indexes of a table this function reads",
}
# Resource policies (key policy) where `*` means "this key" and service principals use it.
KEY_POLICY_SERVICE_PRINCIPALS = {
    "cloudwatch.amazonaws.com": "alarms publish to the KMS-encrypted alert topic",
    "sns.amazonaws.com": "the topic delivers to the KMS-encrypted subscriber queue",
}
KEY_POLICY_ACTION_WILDCARDS = {
    "kms:*": "the account's root principal: AWS's default statement, without which IAM cannot grant the key",
    "kms:GenerateDataKey*": "AWS's documented statement for services publishing to an encrypted topic or queue",
}


@pytest.fixture(scope="module")
def stack(metrics_stack):
    return metrics_stack


def aws_resources(stack):
    return [r for r in stack.resources if r.custom and r.type.startswith("aws:")]


# --- structure ------------------------------------------------------------------------------------

def test_components_have_namespaced_types_and_register_outputs(stack):
    """One ComponentResource per logical unit, `weir:metrics:<Unit>`, each with real outputs."""
    components = [r for r in stack.resources if not r.custom]
    assert len({r.type for r in components}) >= 10
    for r in components:
        assert re.fullmatch(r"weir:metrics:[A-Z][A-Za-z]+", r.type), r.type
        outputs = stack.monitor.component_outputs.get(r.urn)
        assert outputs, f"{r.type} {r.name} registered no outputs"


def test_every_cloud_resource_is_a_child_of_a_component(stack):
    for r in aws_resources(stack):
        assert r.parent_type.startswith("weir:metrics:"), (r.type, r.name, r.parent)


def test_one_explicit_provider_in_the_configured_region(stack):
    """Region chosen once (`aws:region`) and used everywhere: the seed's fix #6."""
    [provider] = stack.of_type("pulumi:providers:aws")
    assert provider.inputs["region"] == REGION
    for r in aws_resources(stack):
        assert r.provider.split("::")[-2] == provider.name, (r.type, r.name, r.provider)
        assert "region" not in r.inputs, (r.type, r.name)  # no per-resource region override
    for token, ref in stack.monitor.invoke_providers:
        assert ref and ref.split("::")[-2] == provider.name, token


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def test_every_arn_and_url_is_in_the_configured_region(stack):
    arn = re.compile(r"arn:aws:([a-z0-9-]+):([a-z0-9-]*):")
    seen = 0
    for r in stack.resources:
        for text in _strings(r.inputs):
            for service, region in arn.findall(text):
                if service not in ("iam", "s3"):  # global services have no region in their ARNs
                    assert region == REGION, (r.type, r.name, text)
                    seen += 1
            for region in re.findall(r"\.([a-z]{2}-[a-z]+-\d)\.amazonaws\.com", text):
                assert region == REGION, (r.type, r.name, text)
    assert seen > 20  # the check saw the policies' ARNs, not nothing


def _accepts_tags(typ: str) -> bool:
    import importlib

    _, path, cls = typ.split(":")  # aws:lambda/function:Function
    module = path.split("/")[0]
    for name in (f"pulumi_aws.{module}", f"pulumi_aws.{module}_"):
        try:
            mod = importlib.import_module(name)
        except ImportError:
            continue
        return "tags" in inspect.signature(getattr(mod, cls)._internal_init).parameters
    raise AssertionError(f"no pulumi_aws class for {typ}")


def test_every_taggable_resource_has_the_four_tags(stack):
    want = {"environment": ENVIRONMENT, "project": "weir", "owner": "metrics-team@example.com",
            "cost-centre": "cc-1234"}
    taggable = [r for r in aws_resources(stack) if _accepts_tags(r.type)]
    assert len(taggable) >= 30
    for r in taggable:
        assert r.inputs.get("tags") == want, (r.type, r.name, r.inputs.get("tags"))


def test_every_name_carries_the_environment(stack):
    """Logical names end with `-<env>` (auto-named physical names start with them); every
    explicit physical name contains the environment too."""
    for r in stack.resources:
        assert r.name.endswith(f"-{ENVIRONMENT}"), (r.type, r.name)
        for key in ("name", "bucket", "stageName"):
            value = r.inputs.get(key)
            if isinstance(value, str):
                assert ENVIRONMENT in value, (r.type, r.name, key, value)


def test_nothing_deprecated_is_used(stack):
    """pulumi_aws logs a warning for every deprecated resource or argument it is given."""
    deprecated = [m for level, m in stack.logs.messages if "deprecat" in m.lower()]
    assert not deprecated, deprecated


def test_no_timestream_and_no_acls(stack):
    kinds = {r.type for r in stack.resources}
    assert not [k for k in kinds if "timestream" in k.lower() or "Acl" in k]


# --- IAM ---------------------------------------------------------------------------------------------

def _role_policies(stack) -> dict[str, dict]:
    return {r.name.removesuffix(f"-policy-{ENVIRONMENT}").removeprefix("weir-"): parse_policy(r.inputs["policy"])
            for r in stack.of_type("aws:iam/rolePolicy:RolePolicy")}


def _stack_arns(stack) -> set[str]:
    arns = set()
    for r in stack.resources:
        for key in ("arn", "streamArn"):
            if r.outputs.get(key):
                arns.add(r.outputs[key])
    return arns


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def test_one_role_per_function(stack):
    roles = stack.of_type("aws:iam/role:Role")
    assert len(roles) == 4
    assert set(_role_policies(stack)) == {"api", "stream", "alerts", "exporter"}
    for role in roles:
        trust = parse_policy(role.inputs["assumeRolePolicy"])
        [statement] = trust["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"} and statement["Action"] == "sts:AssumeRole"
        assert not role.inputs.get("managedPolicyArns")  # nothing broader than the inline policy


def test_iam_statements_are_justified_and_wildcard_free(stack):
    """Every statement has a unique Sid saying why; resources are ARNs of this stack; `*`
    only where AWS requires it; no action wildcards at all."""
    arns = _stack_arns(stack)
    for function, policy in _role_policies(stack).items():
        sids = [s.get("Sid") for s in policy["Statement"]]
        assert all(sids) and len(set(sids)) == len(sids), (function, sids)
        for s in policy["Statement"]:
            assert s["Effect"] == "Allow" and re.fullmatch(r"[A-Za-z0-9]{8,}", s["Sid"]), s
            actions = _as_list(s["Action"])
            assert not [a for a in actions if "*" in a], (function, s["Sid"], actions)
            for resource in _as_list(s["Resource"]):
                if resource == "*":
                    assert set(actions) <= set(STAR_RESOURCE_ACTIONS), (function, s["Sid"], actions)
                    continue
                base = resource
                for allowed in sorted(ARN_WILDCARD_SUFFIXES, key=len, reverse=True):
                    if resource.endswith(allowed):
                        base = resource[: -len(allowed)]
                        break
                assert "*" not in base, (function, s["Sid"], resource)
                assert base in arns, f"{function}/{s['Sid']}: {resource} is not a resource of this stack"


def test_least_privilege_per_function(stack):
    """What each function can do follows from what it reads; the alert evaluator cannot
    write the time series (the exporter can: it compacts metrics no longer written);
    only the stream function reads the stream."""
    policies = _role_policies(stack)

    def actions(function: str) -> set[str]:
        return {a for s in policies[function]["Statement"] for a in _as_list(s["Action"])}

    def resources_for(function: str, action: str) -> set[str]:
        return {r for s in policies[function]["Statement"] if action in _as_list(s["Action"])
                for r in _as_list(s["Resource"])}

    metrics_table = stack.one("aws:dynamodb/table:Table", f"weir-metrics-{ENVIRONMENT}").outputs["arn"]
    assert metrics_table in resources_for("api", "dynamodb:BatchWriteItem")
    assert metrics_table in resources_for("stream", "dynamodb:BatchWriteItem")
    assert metrics_table in resources_for("exporter", "dynamodb:BatchWriteItem")
    assert metrics_table not in resources_for("alerts", "dynamodb:BatchWriteItem")
    for function in ("exporter", "alerts"):
        assert metrics_table in resources_for(function, "dynamodb:Query")
    stream_read = {"dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:DescribeStream"}
    assert stream_read <= actions("stream")
    assert not [f for f in ("api", "alerts", "exporter") if stream_read & actions(f)]
    assert "sqs:SendMessage" in actions("stream")
    s3_writers = [f for f in policies if "s3:PutObject" in actions(f)]
    assert s3_writers == ["exporter"]
    for function in policies:
        assert "dynamodb:Scan" not in actions(function)  # Weir never scans (tests/backends/aws)
        assert "logs:CreateLogGroup" not in actions(function)  # the stack creates the groups


@cache
def _dynamodb_operations_in_code() -> set[str]:
    """DynamoDB operations the metrics adapters call: `client.<op>(...)` and `db.call("<op>", ...)`."""
    known = {"get_item", "put_item", "update_item", "delete_item", "query", "scan", "batch_get_item",
             "batch_write_item", "transact_write_items", "transact_get_items"}
    wrappers = {"query": "query", "count": "query", "batch_write": "batch_write_item", "batch_get": "batch_get_item"}
    found = set()
    for path in (ROOT / "src" / "weir" / "backends" / "aws").glob("*.py"):
        if path.name in ("files.py", "tables.py"):  # the files stack's catalog; table creation for emulators
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                attr = node.func.attr
                if attr in known:
                    found.add(attr)
                elif attr == "call" and node.args and isinstance(node.args[0], ast.Constant):
                    found.add(node.args[0].value)
                elif isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "db" and attr in wrappers:
                    found.add(wrappers[attr])
    actions = {"dynamodb:" + "".join(part.capitalize() for part in op.split("_")) for op in found}
    if "dynamodb:TransactWriteItems" in actions:
        # IAM has no TransactWriteItems action: a transaction needs each item's own action,
        # and ConditionCheckItem for its checks (the alert store's version guard).
        actions = (actions - {"dynamodb:TransactWriteItems"}) | {"dynamodb:ConditionCheckItem"}
    return actions


def test_every_dynamodb_operation_the_code_calls_is_granted(stack):
    """If an adapter starts calling a new operation, this fails until access.py grants it."""
    used = _dynamodb_operations_in_code()
    assert {"dynamodb:Query", "dynamodb:BatchWriteItem"} <= used  # the scan of the code found the calls
    granted = {a for p in _role_policies(stack).values() for s in p["Statement"] for a in _as_list(s["Action"])}
    assert used - {"dynamodb:Scan"} <= granted, used - granted


# --- resource policies ------------------------------------------------------------------------------------

def _resource_policies(stack):
    for typ, key in (("aws:kms/key:Key", "policy"), ("aws:s3/bucketPolicy:BucketPolicy", "policy"),
                     ("aws:sqs/queuePolicy:QueuePolicy", "policy")):
        for r in stack.of_type(typ):
            yield r, parse_policy(r.inputs[key])


def test_resource_policies_allow_no_one_at_large(stack):
    """Allow statements name their principal (the account, or a service on the allow-list,
    scoped to this stack's topic where it can be); Deny statements may be broad."""
    policies = list(_resource_policies(stack))
    assert len(policies) == 4  # the key, the bucket, two queues
    topic_arn = stack.one("aws:sns/topic:Topic", f"weir-alerts-{ENVIRONMENT}").outputs["arn"]
    for r, policy in policies:
        for s in policy["Statement"]:
            assert s.get("Sid"), (r.name, s)
            if s["Effect"] == "Deny":
                continue
            principal = s["Principal"]
            assert principal != "*" and principal.get("AWS") != "*", (r.name, s)
            if "Service" in principal:
                if r.type == "aws:kms/key:Key":
                    assert principal["Service"] in KEY_POLICY_SERVICE_PRINCIPALS, s
                if principal["Service"] == "sns.amazonaws.com":
                    assert s["Condition"] == {"ArnEquals": {"aws:SourceArn": topic_arn}}, s
            else:
                assert principal == {"AWS": "arn:aws:iam::123456789012:root"}, s
            for action in _as_list(s["Action"]):
                if "*" in action:
                    assert r.type == "aws:kms/key:Key" and action in KEY_POLICY_ACTION_WILDCARDS, (r.name, action)


def test_queues_and_bucket_refuse_requests_without_tls(stack):
    for r, policy in _resource_policies(stack):
        if r.type == "aws:kms/key:Key":
            continue
        assert any(s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
                   for s in policy["Statement"]), r.name


def test_bucket_blocks_public_access_and_topic_and_queues_are_encrypted(stack):
    [block] = stack.of_type("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block.inputs[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                                 "restrictPublicBuckets"))
    [key] = stack.of_type("aws:kms/key:Key")
    for r in stack.of_type("aws:sns/topic:Topic") + stack.of_type("aws:sqs/queue:Queue"):
        assert r.inputs["kmsMasterKeyId"] == key.outputs["arn"], r.name
    for r in stack.of_type("aws:dynamodb/table:Table"):
        assert r.inputs["serverSideEncryption"]["enabled"] is True and r.inputs["pointInTimeRecovery"]["enabled"]


def test_log_groups_have_retention_and_functions_use_them(stack):
    groups = {r.inputs["name"]: r for r in stack.of_type("aws:cloudwatch/logGroup:LogGroup")}
    functions = stack.of_type("aws:lambda/function:Function")
    assert len(groups) == len(functions) == 4
    for fn in functions:
        group = groups[f"/aws/lambda/{fn.inputs['name']}"]
        assert group.inputs["retentionInDays"] == 7
        assert fn.inputs["loggingConfig"]["logGroup"] == group.inputs["name"]


def test_policy_documents_are_json_strings(stack):
    """What AWS receives is a JSON document, not a Python repr."""
    for r, _ in _resource_policies(stack):
        json.loads(r.inputs["policy"])
