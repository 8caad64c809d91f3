"""`GET /status` (included by build_app): see `weir.status`."""

from __future__ import annotations

import msgspec
from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir.status import StatusService


def router(status: StatusService) -> Router:
    app = Router()

    @app.get("/status")
    def get_status():
        return Response(status_code=200, content_type="application/json",
                        body=msgspec.json.encode(status.status()).decode())

    return app
