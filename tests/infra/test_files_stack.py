"""infra/files: CDK assertions on the synthesized template, and the scanners on it."""

from __future__ import annotations

import re
import sys

import pytest

from weir import config

ENV = "test"


def resources(synth, kind: str) -> dict:
    return {k: v for k, v in synth.template["Resources"].items() if v["Type"] == kind}


def one(synth, kind: str, *, logical_prefix: str = "") -> tuple[str, dict]:
    found = {k: v for k, v in resources(synth, kind).items() if k.startswith(logical_prefix)}
    assert len(found) == 1, (kind, list(found))
    return next(iter(found.items()))


def text(value) -> str:
    """A CloudFormation value (string or Fn::Join) as flat text, for name checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        sep, parts = value["Fn::Join"]
        return sep.join(text(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "{" + value["Ref"] + "}"
    return str(value)


def test_synthesis_prints_no_deprecation_warning(files_synth):
    assert not re.search(r"deprecat", files_synth.stderr + files_synth.stdout, re.I), files_synth.stderr[-2000:]
    assert "[WARNING]" not in files_synth.stderr


def test_bucket_private_encrypted_ssl_versioned(files_template, files_synth):
    from aws_cdk.assertions import Match

    key_id, _ = one(files_synth, "AWS::KMS::Key")
    files_template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": Match.any_value(),
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                        },
                    }
                ]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "LoggingConfiguration": Match.object_like({"LogFilePrefix": "bucket/"}),
        },
    )
    for _, bucket in resources(files_synth, "AWS::S3::Bucket").items():
        assert "AccessControl" not in bucket["Properties"]  # no ACLs, public or otherwise
        assert all(v is True for v in bucket["Properties"]["PublicAccessBlockConfiguration"].values())
    # SSL enforced: every bucket policy denies requests without TLS
    for _, policy in resources(files_synth, "AWS::S3::BucketPolicy").items():
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            for s in policy["Properties"]["PolicyDocument"]["Statement"]
        )
    assert len(resources(files_synth, "AWS::S3::BucketPolicy")) == 2


def test_function_runtime_architecture_and_environment(files_template, files_synth):
    from aws_cdk.assertions import Match

    _, fn = one(files_synth, "AWS::Lambda::Function", logical_prefix="Indexer")
    files_template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "FunctionName": f"weir-file-indexer-{ENV}",
            "Runtime": "python3.12",
            "Architectures": ["arm64"],
            "Handler": "weir.lambdas.file_indexer.handler",
            "KmsKeyArn": Match.any_value(),
            "LoggingConfig": Match.any_value(),
        },
    )
    env = fn["Properties"]["Environment"]["Variables"]
    assert set(env) == set(config.FILE_INDEXER_ENV)  # exactly what the code reads
    assert not set(env) & set(config.REGION_ENV)
    assert env[config.ENV_FILES_DELETION] == "tombstone" and env[config.ENV_ENVIRONMENT] == ENV
    for _, f in resources(files_synth, "AWS::Lambda::Function").items():
        assert "AWS_REGION" not in (f["Properties"].get("Environment") or {}).get("Variables", {})


def test_notifications_for_created_removed_and_expired_objects(files_synth):
    _, notif = one(files_synth, "Custom::S3BucketNotifications")
    fn_id, _ = one(files_synth, "AWS::Lambda::Function", logical_prefix="Indexer")
    configs = notif["Properties"]["NotificationConfiguration"]["LambdaFunctionConfigurations"]
    assert sorted(c["Events"][0] for c in configs) == [
        "s3:LifecycleExpiration:*",
        "s3:ObjectCreated:*",
        "s3:ObjectRemoved:*",
    ]
    assert all(c["LambdaFunctionArn"] == {"Fn::GetAtt": [fn_id, "Arn"]} for c in configs)
    _, perm = one(files_synth, "AWS::Lambda::Permission")
    assert perm["Properties"]["Principal"] == "s3.amazonaws.com"
    # the custom resource's helper Lambda that add_event_notification brings along
    helpers = [k for k in resources(files_synth, "AWS::Lambda::Function") if k.startswith("BucketNotificationsHandler")]
    assert len(helpers) == 1


def test_table_on_demand_with_pitr_and_key_schema(files_template, files_synth):
    key_id, _ = one(files_synth, "AWS::KMS::Key")
    files_template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": f"file-metadata-table-{ENV}",
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "KeySchema": [
                {"AttributeName": config.FILES_TABLE_PK, "KeyType": "HASH"},
                {"AttributeName": config.FILES_TABLE_SK, "KeyType": "RANGE"},
            ],
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
            },
            "TimeToLiveSpecification": {"AttributeName": config.FILES_TTL_ATTRIBUTE, "Enabled": True},
            "DeletionProtectionEnabled": True,
        },
    )
    _, table = one(files_synth, "AWS::DynamoDB::Table")
    assert "ProvisionedThroughput" not in table["Properties"]


def test_failed_invocations_go_to_the_dlq_with_an_alarm(files_template, files_synth):
    from aws_cdk.assertions import Match

    dlq_id, dlq = one(files_synth, "AWS::SQS::Queue")
    topic_id, _ = one(files_synth, "AWS::SNS::Topic")
    assert dlq["Properties"]["QueueName"] == f"weir-file-indexer-dlq-{ENV}"
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 86400 and "KmsMasterKeyId" in dlq["Properties"]
    files_template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig",
        {
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": [dlq_id, "Arn"]}}},
            "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 6 * 3600,
        },
    )
    files_template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "AlarmName": f"weir-file-indexer-dlq-depth-{ENV}",
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": [dlq_id, "QueueName"]}}],
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [{"Ref": topic_id}],
            "TreatMissingData": "notBreaching",
        },
    )
    files_template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})


def _indexer_statements(files_synth) -> list[dict]:
    fn_id, fn = one(files_synth, "AWS::Lambda::Function", logical_prefix="Indexer")
    role_id = fn["Properties"]["Role"]["Fn::GetAtt"][0]
    _, role = one(files_synth, "AWS::IAM::Role", logical_prefix="IndexerRole")
    assert "ManagedPolicyArns" not in role["Properties"]
    statements = []
    for _, pol in resources(files_synth, "AWS::IAM::Policy").items():
        if {"Ref": role_id} in pol["Properties"]["Roles"]:
            statements += pol["Properties"]["PolicyDocument"]["Statement"]
    return statements


def _actions(statement) -> set[str]:
    a = statement["Action"]
    return {a} if isinstance(a, str) else set(a)


def test_least_privilege_grants(files_synth):
    statements = _indexer_statements(files_synth)
    by_service: dict[str, set[str]] = {}
    for s in statements:
        assert s["Effect"] == "Allow"
        for a in _actions(s):
            by_service.setdefault(a.split(":")[0], set()).add(a)
    assert by_service["s3"] == {"s3:GetObject", "s3:GetObjectVersion"}
    assert by_service["dynamodb"] == {"dynamodb:PutItem"}  # every write is a conditional PutItem
    assert by_service["logs"] == {"logs:CreateLogStream", "logs:PutLogEvents"}
    assert by_service["sqs"] <= {"sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"}
    assert set(by_service) == {"s3", "dynamodb", "logs", "sqs", "kms"}
    assert not any(
        a.endswith("*") and a.split(":")[0] in ("s3", "dynamodb", "sqs") for s in statements for a in _actions(s)
    )
    bucket_id, _ = one(files_synth, "AWS::S3::Bucket", logical_prefix="StorageBucket")
    s3_stmt = next(s for s in statements if "s3:GetObject" in _actions(s))
    assert text(s3_stmt["Resource"]) == "{Fn::GetAtt}/*" or bucket_id in str(s3_stmt["Resource"])
    table_id, _ = one(files_synth, "AWS::DynamoDB::Table")
    ddb_stmt = next(s for s in statements if "dynamodb:PutItem" in _actions(s))
    assert table_id in str(ddb_stmt["Resource"]) and "index" not in str(ddb_stmt["Resource"])


def test_tags_on_every_taggable_resource(files_synth):
    want = {"project": "weir", "component": "files", "environment": ENV}
    kinds = [
        "AWS::S3::Bucket",
        "AWS::DynamoDB::Table",
        "AWS::Lambda::Function",
        "AWS::SQS::Queue",
        "AWS::SNS::Topic",
        "AWS::KMS::Key",
        "AWS::IAM::Role",
        "AWS::Logs::LogGroup",
    ]
    for kind in kinds:
        for logical, res in resources(files_synth, kind).items():
            tags = {t["Key"]: t["Value"] for t in res["Properties"].get("Tags", [])}
            assert want.items() <= tags.items(), (logical, tags)


def test_every_name_carries_the_environment(files_synth):
    names = {
        "AWS::S3::Bucket": "BucketName",
        "AWS::DynamoDB::Table": "TableName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::CloudWatch::Alarm": "AlarmName",
        "AWS::KMS::Alias": "AliasName",
        "AWS::Logs::LogGroup": "LogGroupName",
        "AWS::IAM::Role": "RoleName",
    }
    for kind, prop in names.items():
        for logical, res in resources(files_synth, kind).items():
            if logical.startswith("BucketNotificationsHandler"):
                continue  # CDK's helper: generated names, which start with the stack name
            assert f"-{ENV}" in text(res["Properties"][prop]), (logical, res["Properties"][prop])
    _, fn = one(files_synth, "AWS::Lambda::Function", logical_prefix="Indexer")
    assert fn["Properties"]["FunctionName"].endswith(f"-{ENV}")


def test_outputs(files_synth):
    assert set(files_synth.template["Outputs"]) == {
        "BucketName",
        "TableName",
        "FunctionName",
        "DeadLetterQueueUrl",
        "AlarmTopicArn",
    }


@pytest.mark.parametrize("bad", ["Prod", "a_b", "", "-x", "x" * 17])
def test_bad_environment_names_are_refused(files_check, bad):
    sys.path.insert(0, str(files_check.HERE))
    try:
        from weir_files.naming import check_environment
    finally:
        sys.path.remove(str(files_check.HERE))
    with pytest.raises(ValueError, match="lower-case"):
        check_environment(bad)
    assert check_environment("prod-eu1") == "prod-eu1"


def test_cfn_lint_finds_nothing(files_check, files_synth, iac_bin):
    rc, out = files_check.cfn_lint(iac_bin, files_synth.template_path)
    assert rc == 0, out


def test_checkov_findings_are_all_suppressed_with_reasons(files_check, files_synth, iac_bin):
    report = files_check.checkov(iac_bin, files_synth.template_path)
    results = report["results"]
    assert results["failed_checks"] == [], [(c["check_id"], c["resource"]) for c in results["failed_checks"]]
    assert report["summary"]["passed"] > 40
    skipped = {(c["check_id"], c["resource"].split(".")[-1]) for c in results["skipped_checks"]}
    assert all(len(c["check_result"].get("suppress_comment") or "") > 20 for c in results["skipped_checks"])
    # no stale suppression: every one declared in the template matched a finding
    declared = {
        (s["id"], logical)
        for logical, res in files_synth.template["Resources"].items()
        for s in (res.get("Metadata", {}).get("checkov", {}) or {}).get("skip", [])
    }
    assert declared == skipped
