"""The two DynamoDB tables of the metrics store, as data infra/ and `--create-tables` share.

The time-series table keeps the seed's shape: a string hash key, a numeric `timestamp`
range key, TTL on `ttl`, stream NEW_AND_OLD_IMAGES, on-demand billing (see `keys.py` for
what the keys hold and why the hash key is no longer the bare metric name). Both tables
are encrypted at rest (DynamoDB always is; infra adds a customer-managed key if it likes).
"""

from __future__ import annotations

import logging

from . import keys

log = logging.getLogger(__name__)

METRICS_TABLE_SCHEMA = {
    "KeySchema": [
        {"AttributeName": keys.PK, "KeyType": "HASH"},
        {"AttributeName": keys.RANGE, "KeyType": "RANGE"},
    ],
    "AttributeDefinitions": [
        {"AttributeName": keys.PK, "AttributeType": "S"},
        {"AttributeName": keys.RANGE, "AttributeType": "N"},
    ],
    "BillingMode": "PAY_PER_REQUEST",
    "StreamSpecification": {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    "SSESpecification": {"Enabled": True},
}

SERIES_TABLE_SCHEMA = {
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

TTL_ATTRIBUTE = keys.TTL


def create_tables(client, *, metrics_table: str, series_table: str) -> None:
    """Create both tables if missing and wait until they are active (for emulators and tests)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from weir.errors import StorageError

    try:
        for name, schema in ((metrics_table, METRICS_TABLE_SCHEMA), (series_table, SERIES_TABLE_SCHEMA)):
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
