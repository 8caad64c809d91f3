"""The `stream` Lambda: the DynamoDB metric store alone (it compacts closed hours)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from weir.config import Settings
from weir.wiring.aws import AwsClients, dynamo_store

if TYPE_CHECKING:
    from weir.backends.aws.metrics import DynamoMetricStore


def build_stream(settings: Settings, *, clients: AwsClients | None = None) -> DynamoMetricStore:
    return dynamo_store(settings, clients or AwsClients(settings.endpoint_url))
