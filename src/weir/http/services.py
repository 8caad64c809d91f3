"""What the route table needs of the services: one typed bundle, built by `weir.wiring`.

The HTTP layer names what it uses and the composition root fills it in, so `weir.http`
imports no builder (wiring sits above it). `None` means a deployment without that part:
no API keys where API Gateway authenticates, no alerting without an alert table, no file
catalog behind the `api` Lambda; the routes of a missing part answer 503.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weir.auth import Authenticator
    from weir.files.service import FileQuery
    from weir.http.status import StatusService
    from weir.metrics.alerts.service import AlertService
    from weir.metrics.ingest import IngestService
    from weir.metrics.ports import MetricStore, PushGroupStore
    from weir.metrics.query.service import QueryService
    from weir.ratelimit import RateLimiter


@dataclass
class ApiServices:
    store: MetricStore
    ingest: IngestService
    query: QueryService
    push_groups: PushGroupStore | None = None  # Pushgateway group membership (weir.wire.pushgateway)
    alerts: AlertService | None = None
    files: FileQuery | None = None
    auth: Authenticator | None = None  # None where the platform authenticates (API Gateway)
    limiter: RateLimiter | None = None
    status: StatusService | None = None  # GET /status (built last: it reads the others)
