"""The file catalog's routes: `GET /files?prefix=` and `GET /files/{key}`.

Object keys contain `/`, which a Powertools `<name>` segment does not match, so the key
route is a catch-all regex (`/files/.+`, as Powertools documents for file paths) and the
key is the rest of the path. Clients percent-encode what a path cannot hold (`%20`,
`%3F`, `%25`); the route table gets the path decoded once (the ASGI server decodes it
locally; the `api` handler decodes what API Gateway REST delivers still encoded).
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from weir.errors import UnavailableError
from weir.http.responses import json_response, query_params
from weir.http.services import ApiServices

PREFIX = "/files/"
KEY_ROUTE = PREFIX + ".+"
DOC_PATHS = {KEY_ROUTE: "/files/{key}"}  # the regex route, as openapi.py documents it


def router(services: ApiServices) -> Router:
    app = Router()

    def files():
        if services.files is None:
            raise UnavailableError("the file catalog is not configured in this deployment")
        return services.files

    def params() -> dict[str, str]:
        return query_params(app.current_event)

    @app.get("/files")
    def list_files():
        return json_response(200, files().list(params()))

    @app.get(KEY_ROUTE)
    def get_file():
        path = app.current_event.path
        key = path[path.index(PREFIX) + len(PREFIX):]
        return json_response(200, files().get(key, params()))

    return app
