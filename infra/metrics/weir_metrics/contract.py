"""What the stack takes from Weir's own code, so the deployment and the runtime cannot drift.

- Tables: every `<X>_TABLE_SCHEMA` that `weir.backends.aws.tables` defines (the boto3
  `create_table` arguments `weir serve --create-tables` also uses), with TTL on
  `TTL_ATTRIBUTE`. Each table's variable is `weir.config.ENV_<X>_TABLE` (or an alias
  below); a schema without a variable is an error, since no function could find the table.
- Variables: `weir.config.FUNCTION_ENV` (function -> the variables it reads) when the
  code defines it; otherwise a mapping derived here from the `ENV_*` constants.
- Handlers: `weir.lambdas.<function>.handler`.
- The stream's filter: `weir.backends.aws.key_schema.STREAM_FILTER_PATTERN`, when defined.

Nothing here talks to Pulumi: it is plain data the components turn into resources.
"""

from __future__ import annotations

import importlib.util
import types
from dataclasses import dataclass, field

from weir import config as weir_config
from weir.backends.aws import key_schema as weir_keys
from weir.backends.aws import tables as weir_tables

FUNCTIONS = ("api", "stream", "alerts", "exporter")
SCHEMA_SUFFIX = "_TABLE_SCHEMA"
# Where ENV_<X>_TABLE is not defined, the variable's other name: the seed calls the alert
# rules table ALERT_CONFIG_TABLE, and weir.config keeps that name.
TABLE_ENV_ALIASES = {"ALERTS": "ENV_ALERT_CONFIG_TABLE"}
# The table the `stream` function compacts: the time series.
STREAM_TABLE = "METRICS"
_SCHEMA_KEYS = {"KeySchema", "AttributeDefinitions", "BillingMode", "StreamSpecification", "SSESpecification",
                "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "TableClass"}


class ContractError(ValueError):
    """The code defines something the stack cannot deploy; the message says what to change."""


@dataclass(frozen=True)
class TableSpec:
    """One DynamoDB table, as `tables.py` defines it, in the terms pulumi_aws wants."""

    key: str  # "METRICS" for METRICS_TABLE_SCHEMA
    env_var: str  # the variable the functions read its name from
    hash_key: str
    range_key: str | None
    attributes: tuple[tuple[str, str], ...]
    billing_mode: str
    stream_view_type: str | None
    sse_enabled: bool
    sse_kms_key: str | None
    ttl_attribute: str
    global_indexes: tuple[dict, ...] = ()
    local_indexes: tuple[dict, ...] = ()
    table_class: str | None = None

    @property
    def slug(self) -> str:
        """`metrics`, `series`, `alerts`: used in resource and output names."""
        return self.key.lower().replace("_", "-")


@dataclass(frozen=True)
class FunctionEnv:
    """The variables each function reads, and where that mapping came from."""

    variables: dict[str, tuple[str, ...]]
    source: str  # "weir.config.FUNCTION_ENV" or "derived"
    dropped: dict[str, tuple[str, ...]] = field(default_factory=dict)  # derived entries with nothing to point at


def _key(schema: dict, kind: str) -> str | None:
    found = [k["AttributeName"] for k in schema.get("KeySchema", ()) if k["KeyType"] == kind]
    return found[0] if found else None


def _index(schema: dict, index: dict, *, local: bool) -> dict:
    projection = index.get("Projection", {"ProjectionType": "ALL"})
    out = {"name": index["IndexName"], "projection_type": projection["ProjectionType"]}
    if projection.get("NonKeyAttributes"):
        out["non_key_attributes"] = list(projection["NonKeyAttributes"])
    if local:
        out["range_key"] = _key(index, "RANGE")
    else:
        out["key_schemas"] = [{"attribute_name": k["AttributeName"], "key_type": k["KeyType"]}
                              for k in index["KeySchema"]]
    return out


def table_spec(key: str, schema: dict, *, cfg: types.ModuleType = weir_config,
               ttl_attribute: str = weir_tables.TTL_ATTRIBUTE) -> TableSpec:
    unknown = set(schema) - _SCHEMA_KEYS
    if unknown:
        raise ContractError(f"{key}{SCHEMA_SUFFIX} sets {sorted(unknown)}, which infra/metrics does not deploy yet; "
                            "teach contract.table_spec about it rather than dropping it silently")
    candidates = [f"ENV_{key}_TABLE"] + ([TABLE_ENV_ALIASES[key]] if key in TABLE_ENV_ALIASES else [])
    env_attr = next((c for c in candidates if getattr(cfg, c, None)), candidates[-1])
    env_var = getattr(cfg, env_attr, None)
    if not env_var:
        raise ContractError(f"{key}{SCHEMA_SUFFIX} has no variable: define weir.config.{env_attr} so the functions "
                            "can find the table")
    hash_key = _key(schema, "HASH")
    if hash_key is None:
        raise ContractError(f"{key}{SCHEMA_SUFFIX} has no HASH key")
    stream = schema.get("StreamSpecification") or {}
    sse = schema.get("SSESpecification") or {}
    if schema.get("BillingMode", "PAY_PER_REQUEST") != "PAY_PER_REQUEST":
        raise ContractError(f"{key}{SCHEMA_SUFFIX}: only on-demand (PAY_PER_REQUEST) tables are deployed")
    return TableSpec(
        key=key,
        env_var=env_var,
        hash_key=hash_key,
        range_key=_key(schema, "RANGE"),
        attributes=tuple((a["AttributeName"], a["AttributeType"]) for a in schema["AttributeDefinitions"]),
        billing_mode="PAY_PER_REQUEST",
        stream_view_type=stream.get("StreamViewType") if stream.get("StreamEnabled") else None,
        sse_enabled=bool(sse.get("Enabled", False)),
        sse_kms_key=sse.get("KMSMasterKeyId"),
        ttl_attribute=ttl_attribute,
        global_indexes=tuple(_index(schema, i, local=False) for i in schema.get("GlobalSecondaryIndexes", ())),
        local_indexes=tuple(_index(schema, i, local=True) for i in schema.get("LocalSecondaryIndexes", ())),
        table_class=schema.get("TableClass"),
    )


def table_specs(module: types.ModuleType = weir_tables, *, cfg: types.ModuleType = weir_config) -> list[TableSpec]:
    """Every `<X>_TABLE_SCHEMA` of the module, in a stable order (definition order)."""
    ttl = getattr(module, "TTL_ATTRIBUTE", weir_tables.TTL_ATTRIBUTE)
    specs = [table_spec(name[: -len(SCHEMA_SUFFIX)], value, cfg=cfg, ttl_attribute=ttl)
             for name, value in vars(module).items()
             if name.endswith(SCHEMA_SUFFIX) and name.isupper() and isinstance(value, dict)]
    if not any(s.key == STREAM_TABLE for s in specs):
        raise ContractError(f"{module.__name__} defines no {STREAM_TABLE}{SCHEMA_SUFFIX}: the time-series table")
    if next(s for s in specs if s.key == STREAM_TABLE).stream_view_type is None:
        raise ContractError(f"{STREAM_TABLE}{SCHEMA_SUFFIX} has no stream; the `stream` function needs one")
    return specs


def derived_function_env(cfg: types.ModuleType = weir_config) -> dict[str, tuple[str, ...]]:
    """What each function reads, from the config constants, for code without FUNCTION_ENV.

    `LAMBDA_ENV` is what `Settings.for_lambda` reads (every function builds its settings
    from it); the alert functions add the rules table and the topic, the exporter the bucket.
    """
    base = tuple(cfg.LAMBDA_ENV)
    alerting = (cfg.ENV_ALERT_CONFIG_TABLE, cfg.ENV_ALERT_TOPIC_ARN)
    return {
        "api": base + alerting,
        "stream": base,
        "alerts": base + alerting,
        "exporter": base + (cfg.ENV_METRICS_BUCKET,),
    }


def function_env(known: set[str], cfg: types.ModuleType = weir_config) -> FunctionEnv:
    """The variables of each function. `known`: the variables the stack can give a value.

    With `FUNCTION_ENV` in the code, every variable it names must be known (else the code
    reads something no resource provides: an error). The derived mapping drops the
    variables whose resource does not exist on this branch (for example the alert rules
    table before `ALERTS_TABLE_SCHEMA` exists) and says which in `dropped`.
    """
    mapping = getattr(cfg, "FUNCTION_ENV", None)
    if mapping is not None:
        missing = set(FUNCTIONS) - set(mapping)
        if missing:
            raise ContractError(f"weir.config.FUNCTION_ENV has no entry for {sorted(missing)}")
        variables = {fn: tuple(mapping[fn]) for fn in FUNCTIONS}
        unknown = {fn: sorted(set(v) - known) for fn, v in variables.items() if set(v) - known}
        if unknown:
            raise ContractError(f"weir.config.FUNCTION_ENV names variables the stack cannot set: {unknown}")
        return FunctionEnv(variables, "weir.config.FUNCTION_ENV")
    derived = derived_function_env(cfg)
    variables = {fn: tuple(v for v in names if v in known) for fn, names in derived.items()}
    dropped = {fn: tuple(v for v in names if v not in known) for fn, names in derived.items()}
    return FunctionEnv(variables, "derived", {fn: d for fn, d in dropped.items() if d})


def check_never_region(variables: dict[str, tuple[str, ...]]) -> None:
    """The Lambda runtime sets the region; a function given AWS_REGION by hand is the seed's bug."""
    for fn, names in variables.items():
        bad = set(names) & set(weir_config.REGION_ENV)
        if bad:
            raise ContractError(f"function {fn} would get {sorted(bad)}: the Lambda runtime sets the region")


def handler(function: str) -> str:
    return f"weir.lambdas.{function}.handler"


def handler_module_exists(function: str) -> bool:
    """Whether `weir.lambdas.<function>` is in this checkout (and so in `make lambda-zip`'s bundle)."""
    return importlib.util.find_spec(f"weir.lambdas.{function}") is not None


def stream_filter_pattern() -> dict | None:
    return getattr(weir_keys, "STREAM_FILTER_PATTERN", None)
