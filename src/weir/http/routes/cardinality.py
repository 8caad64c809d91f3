"""The cardinality view: `GET /api/v1/status/tsdb`, in Prometheus' JSON shape (series count by
metric name, distinct values and bytes by label name, the label pairs with most series), so
tools that read Prometheus' TSDB status read Weir's. It reads the whole series index, so it
runs on the work pool like every GET (weir.http.workpool)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from weir.errors import InvalidInputError
from weir.http.responses import json_response, query_params
from weir.http.services import ApiServices
from weir.metrics.cardinality import parse_limit, tsdb_status

TSDB_PATH = "/api/v1/status/tsdb"


def router(services: ApiServices) -> Router:
    app = Router()

    @app.get(TSDB_PATH)
    def tsdb():
        params = query_params(app.current_event)
        unknown = sorted(set(params) - {"limit"})
        if unknown:
            raise InvalidInputError(f"{unknown[0]}: unknown query parameter; this endpoint takes limit")
        return json_response(200, tsdb_status(services.store, parse_limit(params.get("limit"))))

    return app
