"""The `api` Lambda: the route table's services over DynamoDB. Alerting when the function
has an alert table (rules are stored here; the `alerts` function evaluates them); no file
catalog (the `file_indexer` stack has none behind the API), no API keys (API Gateway's)."""

from __future__ import annotations

import time
from collections.abc import Callable

from weir.config import Settings
from weir.http.services import ApiServices
from weir.wiring.aws import AwsClients, dynamo_store


def build_api(settings: Settings, *, clients: AwsClients | None = None,
              clock: Callable[[], float] = time.time) -> ApiServices:
    from weir.backends.aws.pushgroups import DynamoPushGroupStore
    from weir.metrics.ingest import IngestService
    from weir.metrics.query.service import QueryService
    from weir.wiring.serve import series_budget

    clients = clients or AwsClients(settings.endpoint_url)
    store = dynamo_store(settings, clients, clock=clock)
    alerts = None
    if settings.alert_table:
        from weir.backends.aws.alerts import DynamoAlertStore
        from weir.metrics.alerts.notify import SCHEDULED_RETRY
        from weir.wiring.alerting import alert_core, alert_service

        core = alert_core(settings, DynamoAlertStore(clients.get("dynamodb"), settings.alert_table), store, None,
                          serve=False, retry=SCHEDULED_RETRY, clients=clients, clock=clock)
        alerts = alert_service(core, store, clock=clock)
    api = ApiServices(
        store=store,
        ingest=IngestService(store, settings.retention_seconds, clock, budget=series_budget(settings, store)),
        query=QueryService(store, settings.retention_seconds, clock),
        push_groups=DynamoPushGroupStore(clients.get("dynamodb"), settings.series_table),
        alerts=alerts,
    )
    from weir.http.status import StatusService

    api.status = StatusService(api, environment=settings.environment, clock=clock)  # no disk, no exports here
    return api
