"""What infra/metrics reads from Weir's code and its configuration, without Pulumi running:
table discovery, the variables of each function, settings and their errors, and the
mock harness's own guarantee that an assertion in an `apply` can fail."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

pytest.importorskip("pulumi_aws", reason="pulumi-aws is in the `infra` extra; `make test` installs it")

from tests.infra.pulumi_stack import check  # noqa: E402
from weir import config as weir_config  # noqa: E402
from weir.backends.aws import key_schema as weir_keys  # noqa: E402
from weir.backends.aws import tables as weir_tables  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "metrics"))

from weir_metrics import access, contract, naming, settings  # noqa: E402


def fake_tables(**schemas) -> types.ModuleType:
    module = types.ModuleType("fake_tables")
    module.TTL_ATTRIBUTE = "ttl"
    module.METRICS_TABLE_SCHEMA = weir_tables.METRICS_TABLE_SCHEMA
    for name, schema in schemas.items():
        setattr(module, name, schema)
    return module


def fake_config(**extra) -> types.ModuleType:
    module = types.ModuleType("fake_config")
    for name in dir(weir_config):
        if name.startswith(("ENV_", "LAMBDA_ENV", "REGION_ENV")):
            setattr(module, name, getattr(weir_config, name))
    for name, value in extra.items():
        setattr(module, name, value)
    return module


ALERTS_SCHEMA = {
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"},
                             {"AttributeName": "sk", "AttributeType": "S"},
                             {"AttributeName": "due", "AttributeType": "N"}],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [{"IndexName": "by-due", "KeySchema": [{"AttributeName": "due", "KeyType": "HASH"}],
                                "Projection": {"ProjectionType": "KEYS_ONLY"}}],
}


# --- tables --------------------------------------------------------------------------------------------

def test_every_table_schema_in_weir_is_picked_up():
    found = {s.key for s in contract.table_specs()}
    defined = {n[: -len("_TABLE_SCHEMA")] for n in vars(weir_tables) if n.endswith("_TABLE_SCHEMA")}
    assert found == defined and {"METRICS", "SERIES"} <= found


def test_a_new_schema_becomes_a_table_with_its_variable_and_indexes():
    """The alerts table another branch adds: ALERTS_TABLE_SCHEMA -> ALERT_CONFIG_TABLE."""
    specs = {s.key: s for s in contract.table_specs(fake_tables(ALERTS_TABLE_SCHEMA=ALERTS_SCHEMA), cfg=fake_config())}
    alerts = specs["ALERTS"]
    assert alerts.env_var == weir_config.ENV_ALERT_CONFIG_TABLE == "ALERT_CONFIG_TABLE"
    assert (alerts.hash_key, alerts.range_key) == ("pk", "sk")
    assert alerts.global_indexes == ({"name": "by-due", "projection_type": "KEYS_ONLY",
                                      "key_schemas": [{"attribute_name": "due", "key_type": "HASH"}]},)
    assert alerts.stream_view_type is None and alerts.ttl_attribute == "ttl"
    grants = access.Grants(tables={"ALERT_CONFIG_TABLE": access.TableRef("ALERTS", "arn:t", has_indexes=True)})
    [read, write] = access.statements("api", ("ALERT_CONFIG_TABLE",), grants, topic_var="T", bucket_var="B")
    assert read["Resource"] == ["arn:t", "arn:t/index/*"] and write["Sid"] == "WriteAlertsTable"


def test_a_variable_named_after_the_schema_wins_over_the_alias():
    specs = contract.table_specs(fake_tables(ALERTS_TABLE_SCHEMA=ALERTS_SCHEMA),
                                 cfg=fake_config(ENV_ALERTS_TABLE="ALERTS_TABLE"))
    assert [s.env_var for s in specs if s.key == "ALERTS"] == ["ALERTS_TABLE"]


def test_a_schema_without_a_variable_is_an_error():
    with pytest.raises(contract.ContractError, match="ENV_ROLLUPS_TABLE"):
        contract.table_specs(fake_tables(ROLLUPS_TABLE_SCHEMA=ALERTS_SCHEMA), cfg=fake_config())
    specs = contract.table_specs(fake_tables(ROLLUPS_TABLE_SCHEMA=ALERTS_SCHEMA),
                                 cfg=fake_config(ENV_ROLLUPS_TABLE="ROLLUPS_TABLE"))
    assert [s.env_var for s in specs if s.key == "ROLLUPS"] == ["ROLLUPS_TABLE"]


def test_a_schema_setting_infra_does_not_know_is_an_error_not_dropped():
    schema = {**ALERTS_SCHEMA, "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}
    with pytest.raises(contract.ContractError, match="ProvisionedThroughput"):
        contract.table_specs(fake_tables(ALERTS_TABLE_SCHEMA=schema), cfg=fake_config())


def test_the_time_series_table_must_have_its_stream():
    module = fake_tables()
    module.METRICS_TABLE_SCHEMA = {k: v for k, v in weir_tables.METRICS_TABLE_SCHEMA.items()
                                   if k != "StreamSpecification"}
    with pytest.raises(contract.ContractError, match="stream"):
        contract.table_specs(module, cfg=fake_config())


# --- variables ------------------------------------------------------------------------------------------

KNOWN = {"WEIR_ENVIRONMENT", "WEIR_RETENTION", "METRICS_TABLE", "SERIES_TABLE", "ALERT_TOPIC_ARN", "METRICS_BUCKET"}


def test_function_env_comes_from_the_code_when_it_defines_it():
    mapping = {"api": ("METRICS_TABLE",), "stream": ("METRICS_TABLE", "SERIES_TABLE"), "alerts": ("ALERT_TOPIC_ARN",),
               "exporter": ("METRICS_BUCKET",)}
    env = contract.function_env(KNOWN, fake_config(FUNCTION_ENV=mapping))
    assert env.source == "weir.config.FUNCTION_ENV" and env.variables == mapping and not env.dropped
    with pytest.raises(contract.ContractError, match="ROLLUPS_TABLE"):
        contract.function_env(KNOWN, fake_config(FUNCTION_ENV={**mapping, "api": ("ROLLUPS_TABLE",)}))
    with pytest.raises(contract.ContractError, match="exporter"):
        contract.function_env(KNOWN, fake_config(FUNCTION_ENV={k: v for k, v in mapping.items() if k != "exporter"}))


def test_derived_function_env_drops_what_no_resource_provides_and_says_so():
    env = contract.function_env(KNOWN, fake_config())
    assert env.source == "derived"
    assert set(env.variables["stream"]) == set(weir_config.LAMBDA_ENV)
    assert set(env.variables["exporter"]) == set(weir_config.LAMBDA_ENV) | {"METRICS_BUCKET"}
    assert set(env.variables["api"]) == set(weir_config.LAMBDA_ENV) | {"ALERT_TOPIC_ARN"}
    assert env.dropped == {"api": ("ALERT_CONFIG_TABLE",), "alerts": ("ALERT_CONFIG_TABLE",)}
    with_alerts = contract.function_env(KNOWN | {"ALERT_CONFIG_TABLE"}, fake_config())
    assert "ALERT_CONFIG_TABLE" in with_alerts.variables["alerts"] and not with_alerts.dropped


def test_this_branch_uses_function_env_if_and_only_if_the_code_has_it():
    env = contract.function_env(KNOWN | {"ALERT_CONFIG_TABLE", weir_config.ENV_WEBHOOK_ALLOW})
    assert env.source == ("weir.config.FUNCTION_ENV" if hasattr(weir_config, "FUNCTION_ENV") else "derived")


def test_aws_region_is_never_a_function_variable():
    with pytest.raises(contract.ContractError, match="AWS_REGION"):
        contract.check_never_region({"api": ("METRICS_TABLE", "AWS_REGION")})


def test_handlers_and_stream_filter_come_from_the_code():
    assert contract.handler("api") == "weir.lambdas.api.handler"
    assert contract.handler_module_exists("api") and contract.handler_module_exists("stream")
    assert not contract.handler_module_exists("no_such_function")
    assert contract.stream_filter_pattern() == getattr(weir_keys, "STREAM_FILTER_PATTERN", None)


def test_handlers_that_exist_define_handler():
    import ast

    for fn in contract.FUNCTIONS:
        path = ROOT / "src" / "weir" / "lambdas" / f"{fn}.py"
        if path.exists():
            names = {n.name for n in ast.parse(path.read_text()).body if isinstance(n, ast.FunctionDef)}
            assert "handler" in names, path


# --- settings ----------------------------------------------------------------------------------------------

class FakeConfig:
    def __init__(self, **values) -> None:
        self.values = values

    def get(self, key):
        return self.values.get(key)

    def get_int(self, key):
        return self.values.get(key)

    get_float = get_bool = get_object = get_int

    def require(self, key):
        if key not in self.values:
            raise KeyError(f"Missing required configuration variable '{key}'")
        return self.values[key]


def test_settings_defaults():
    s = settings.read(FakeConfig(owner="me", costCentre="cc"), FakeConfig(), stack="dev")
    assert s.region == "us-east-1"  # the seed's region, when aws:region is not set
    assert s.environment == "dev" and s.retention == "30d" and s.log_retention_days == 7
    assert s.reserved_concurrency["api"] == 100 and s.memory_mb == 512 and s.open_reads is False
    assert s.tags == {"environment": "dev", "project": "weir", "owner": "me", "cost-centre": "cc"}
    assert s.lambda_zip == ROOT / "build" / "lambda.zip"
    assert s.webhook_allow == "none"  # webhooks from AWS go to public addresses only


def test_settings_errors_name_the_key():
    base = {"owner": "me", "costCentre": "cc"}
    with pytest.raises(KeyError, match="owner"):
        settings.read(FakeConfig(costCentre="cc"), FakeConfig(), stack="dev")
    with pytest.raises(ValueError, match="environment"):
        settings.read(FakeConfig(**base, environment="Prod_1"), FakeConfig(), stack="dev")
    with pytest.raises(settings.SettingsError, match="retention"):
        settings.read(FakeConfig(**base, retention="forever"), FakeConfig(), stack="dev")
    with pytest.raises(settings.SettingsError, match="reservedConcurrency"):
        settings.read(FakeConfig(**base, reservedConcurrency={"apii": 5}), FakeConfig(), stack="dev")
    with pytest.raises(settings.SettingsError, match="logRetentionDays"):
        settings.read(FakeConfig(**base, logRetentionDays=8), FakeConfig(), stack="dev")
    with pytest.raises(settings.SettingsError, match="webhookAllow: .*169.254.169.254.* can never be allowed"):
        settings.read(FakeConfig(**base, webhookAllow="10.0.0.0/8,169.254.169.254"), FakeConfig(), stack="dev")
    assert settings.read(FakeConfig(**base, webhookAllow="10.0.0.0/8, hooks.internal.example"), FakeConfig(),
                         stack="dev").webhook_allow == "10.0.0.0/8, hooks.internal.example"
    s = settings.read(FakeConfig(**base, reservedConcurrency={"api": -1}), FakeConfig(region="eu-central-1"),
                      stack="dev")
    assert s.reserved_concurrency["api"] == -1 and s.region == "eu-central-1"


def test_missing_bundle_says_to_run_make_lambda_zip(tmp_path):
    with pytest.raises(settings.SettingsError, match="make lambda-zip"):
        settings.check_bundle(tmp_path / "lambda.zip")


def test_names_carry_the_environment():
    assert naming.function_name("api", "prod") == "weir-api-prod"
    assert naming.log_group_name("api", "prod") == "/aws/lambda/weir-api-prod"
    with pytest.raises(ValueError):
        naming.check_environment("x" * 17)


# --- the harness ------------------------------------------------------------------------------------------

def test_a_failing_check_fails(metrics_stack):
    """`check` resolves the outputs and runs the assertion: a false one must raise."""
    table = metrics_stack.program.storage.tables["METRICS"]
    with pytest.raises(AssertionError, match="deliberately"):
        check(lambda billing: (_ for _ in ()).throw(AssertionError("deliberately wrong")), table.billing_mode)

    seen = []
    check(seen.append, table.billing_mode)
    assert seen == ["PAY_PER_REQUEST"]
