"""Creating the file catalog table on moto with the key schema infra/files deploys."""

from __future__ import annotations

from weir import config


def create_files_table(client, name: str) -> None:
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": config.FILES_TABLE_PK, "KeyType": "HASH"},
                   {"AttributeName": config.FILES_TABLE_SK, "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": config.FILES_TABLE_PK, "AttributeType": "S"},
                              {"AttributeName": config.FILES_TABLE_SK, "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": config.FILES_TTL_ATTRIBUTE}
    )
