"""Routes of the web UI: its files under `/ui/`, and `/` sending browsers there.

The UI is served through the route table like every other answer, so `weir serve` and
the `api` Lambda behind API Gateway serve it the same way. Gzipped files go out as bytes,
which the resolver base64-encodes (`isBase64Encoded`); the local gateway decodes them, and
API Gateway does too since the API lists `*/*` as a binary media type (infra/metrics).

`GET /` keeps its JSON 404 for API clients; a browser (`Accept: text/html`) is redirected
to the UI. Redirects carry the stage prefix API Gateway adds (`/prod/ui/`), read from the
request context, so they work on a stage URL as on `weir serve`.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir.http.responses import json_response
from weir.http.services import ApiServices
from weir.metrics.model import ErrorBody
from weir.ui.static import StaticFiles

PREFIX = "/ui/"
CAPABILITIES = PREFIX + "capabilities.json"
FILES_ROUTE = PREFIX + ".*"
DOC_PATHS = {FILES_ROUTE: "/ui/{path}"}  # the regex route, as openapi.py documents it


def router(_services: ApiServices | None = None, static: StaticFiles | None = None) -> Router:
    """The UI's routes, for `include_router` (they need no service: the UI reads the API)."""
    app = Router()
    files = static or StaticFiles()

    def header(name: str) -> str:
        for k, v in (app.current_event.headers or {}).items():
            if k.lower() == name:
                return v or ""
        return ""

    def stage_prefix() -> str:
        """What precedes the route table's path in the browser's URL (an API Gateway stage)."""
        ev = app.current_event
        full = (ev.raw_event.get("requestContext") or {}).get("path") or ""
        path = ev.path or ""
        return full[: len(full) - len(path)] if path and full.endswith(path) else ""

    def to_ui() -> Response:
        query = app.current_event.query_string_parameters
        location = stage_prefix() + PREFIX
        if query:
            from urllib.parse import urlencode

            location += "?" + urlencode(query)
        return Response(status_code=302, headers={"Location": location, "Cache-Control": "no-cache"}, body="")

    @app.get("/")
    def root():
        if "text/html" in header("accept"):
            return to_ui()
        return json_response(404, ErrorBody("not_found", "no route for GET /; GET /openapi.json lists the routes, "
                                                         "and a browser finds the web UI at /ui/"))

    @app.get(CAPABILITIES)  # before the catch-all below: Powertools tries routes in order
    def ui_capabilities():
        return Response(status_code=200, content_type="application/json", body=capabilities(),
                        headers={"Cache-Control": "no-cache"})

    @app.get("/ui")
    def ui_root():
        # Powertools' REST resolver lets "/ui" match "/ui/" too: that one is the UI's first page.
        return ui_file() if app.current_event.path.endswith("/") else to_ui()

    @app.get(FILES_ROUTE)
    def ui_file():
        path = app.current_event.path
        rel = path[path.index(PREFIX) + len(PREFIX):] if PREFIX in path else ""
        asset = files.lookup(rel.rstrip("/"))
        headers = {"Cache-Control": asset.cache_control, "X-Content-Type-Options": "nosniff"}
        if asset.content_type.startswith("text/html"):
            headers.update(_PAGE_HEADERS)
        body: bytes = asset.body
        if asset.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
            if "gzip" in header("accept-encoding"):
                headers["Content-Encoding"] = "gzip"
                body = asset.gzipped
        return Response(status_code=asset.status, content_type=asset.content_type, body=body, headers=headers)

    return app


@cache
def capabilities() -> str:
    """What this Weir's API offers, for the UI to choose its paths: read from the OpenAPI
    document's routes, which a test holds equal to the route table. A few bytes, where the UI
    would otherwise fetch the whole document, or probe routes and log a 404 for each missing one."""
    import msgspec

    from weir import __version__
    from weir.http.openapi.document import ROUTES

    files = ROUTES.get(("get", "/files"), {})
    return msgspec.json.encode({
        "version": __version__,
        "promql": ("get", "/api/v1/query_range") in ROUTES,
        "metadata": ("get", "/api/v1/metadata") in ROUTES,
        "status": ("get", "/status") in ROUTES,
        "files_delimiter": any(p.get("name") == "delimiter" for p in files.get("parameters", [])),
    }).decode()


# The UI loads nothing from elsewhere; the policy makes that a rule the browser enforces.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
}
