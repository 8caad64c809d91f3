"""`GET /status`: see `weir.http.status`."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from weir.errors import UnavailableError
from weir.http.responses import json_response
from weir.http.services import ApiServices


def router(services: ApiServices) -> Router:
    app = Router()

    @app.get("/status")
    def get_status():
        if services.status is None:
            raise UnavailableError("the status report is not configured in this deployment")
        return json_response(200, services.status.status())

    return app
