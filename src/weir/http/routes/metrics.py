"""The metrics API's own routes: health, `POST /metrics`, listing and querying, and the
OpenAPI document of every route."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir import __version__
from weir.http import workpool
from weir.http.responses import JSON, json_response, query_params_once, request_body
from weir.http.services import ApiServices
from weir.metrics.model import Health
from weir.wire.json import ingest_json


def router(services: ApiServices) -> Router:
    app = Router()

    def params() -> dict[str, str]:
        return query_params_once(app.current_event)

    @app.get("/health")
    @workpool.light
    def health():
        store = services.store
        problem = store.problem()
        if problem is not None:
            return json_response(503, Health("failed", __version__, store.backend, "weir", problem))
        return json_response(200, Health("ok" if store.ready() else "starting", __version__, store.backend, "weir"))

    @app.post("/metrics")
    def post_metrics():
        body = request_body(app.current_event, accept=("application/json",))
        return json_response(200, ingest_json(services.ingest, body))

    @app.get("/metrics")
    def list_metrics():
        return json_response(200, services.query.list_metrics())

    @app.get("/metrics/<name>/series")
    def list_series(name: str):
        return json_response(200, services.query.list_series(name, params()))

    @app.get("/metrics/<name>")
    def query_metric(name: str):
        return json_response(200, services.query.query(name, params()))

    @app.get("/openapi.json")
    @workpool.light
    def openapi():
        from weir.http.openapi.document import document

        return Response(status_code=200, content_type=JSON, body=document())

    return app
