"""`GET /status` (registered by build_app): see `weir.status`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver


def register(app: APIGatewayRestResolver, services) -> None:
    from weir.http.routes import json_response
    from weir.status import StatusService

    status = StatusService(services)

    @app.get("/status")
    def get_status():
        return json_response(200, status.status())
