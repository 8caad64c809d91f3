"""The DynamoDB tables of Weir's metrics side, as data infra/ and `--create-tables` share.

The time-series table keeps the seed's shape: a string hash key, a numeric `timestamp`
range key, TTL on `ttl`, stream NEW_AND_OLD_IMAGES, on-demand billing (see `key_schema.py` for
what the keys hold and why the hash key is no longer the bare metric name). The series
table holds the series index (`series_index.py`), the export watermark and push-group
membership (`state.py`); the alert table the rules and what hangs off them (`alerts.py`).
All are encrypted at rest (DynamoDB always is; infra adds a customer-managed key if it likes).
"""

from __future__ import annotations

import logging

from . import key_schema

log = logging.getLogger(__name__)

METRICS_TABLE_SCHEMA = {
    "KeySchema": [
        {"AttributeName": key_schema.PK, "KeyType": "HASH"},
        {"AttributeName": key_schema.RANGE, "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": key_schema.PK, "AttributeType": "S"},
        {"AttributeName": key_schema.RANGE, "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    "SSESpecification": {"Enabled": True},
}


def _pk_sk_schema() -> dict:
    """String `pk`/`sk` keys, on demand, encrypted: the series and alert tables' shape
    (a fresh dict each call, so neither table's schema can change the other's)."""
    return {
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"Enabled": True},
    }


SERIES_TABLE_SCHEMA = _pk_sk_schema()

# The alert-configuration table (`ALERT_CONFIG_TABLE`, the seed's `alert-configurations`):
# rules, their states and events, the delivery outbox and subscriptions, told apart by the
# `pk` prefix (see backends/aws/alerts.py). No stream, no index: every read is a GetItem or a
# Query on a known partition. TTL on `ttl` like the other tables (no alert item sets it yet).
ALERTS_TABLE_SCHEMA = _pk_sk_schema()

TTL_ATTRIBUTE = key_schema.TTL  # the TTL attribute of every table above
# Which schema each table uses, by the environment variable that names it (config.py).
TABLE_SCHEMAS = {
    "METRICS_TABLE": METRICS_TABLE_SCHEMA,
    "SERIES_TABLE": SERIES_TABLE_SCHEMA,
    "ALERT_CONFIG_TABLE": ALERTS_TABLE_SCHEMA,
}


def create_tables(client, *, metrics_table: str, series_table: str, alerts_table: str | None = None) -> None:
    """Create the tables if missing and wait until they are active (for emulators and tests)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from weir.errors import StorageError

    wanted = [(metrics_table, METRICS_TABLE_SCHEMA), (series_table, SERIES_TABLE_SCHEMA)]
    if alerts_table:
        wanted.append((alerts_table, ALERTS_TABLE_SCHEMA))
    try:
        for name, schema in wanted:
            try:
                client.describe_table(TableName=name)
                continue
            except client.exceptions.ResourceNotFoundException:
                pass
            log.info("creating DynamoDB table %s", name)
            client.create_table(TableName=name, **schema)
            client.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
            )
    except (BotoCoreError, ClientError) as exc:
        raise StorageError(f"could not create the DynamoDB tables: {exc}") from None
