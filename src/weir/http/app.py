"""The route table of the Weir API, defined once.

`build_app` returns the Powertools resolver that the `api` Lambda calls and that the
local gateway calls for every request of `weir serve`: one `Router` per feature
(`weir.http.routes`) joined with `include_router`, the API-key and rate-limit middleware,
and the error handlers. Handlers only translate HTTP to service calls; every error becomes
JSON with a message a person can act on.
"""

from __future__ import annotations

import logging
import math

# from the submodule, not the package: see weir.lambdas.lean
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound

from weir.auth import digest, presented_key
from weir.errors import NotFoundError, WeirError
from weir.http.responses import JSON, encode, error_response, json_response
from weir.http.routes import alerts, files, formats, metrics, prometheus, remote, status, ui
from weir.http.services import ApiServices
from weir.metrics.model import ErrorBody
from weir.ratelimit import RateLimitedError

log = logging.getLogger(__name__)

# In this order: a request is matched against the routes in the order they were added.
FEATURES = (metrics, alerts, files, formats, remote, prometheus, status, ui)


class _Resolver(APIGatewayRestResolver):
    """Powertools' REST resolver, answering 404 for paths with control characters before
    routing: its route patterns end in `$`, which also matches before a trailing newline,
    so `/alerts/%0A` would otherwise reach the `/alerts` list route. No name, id or key
    Weir stores contains one, so nothing can be found there."""

    def resolve(self, event, context):
        path = event.get("path") or ""
        if any(c < " " or c == "\x7f" for c in path):
            bad = NotFoundError("no such path: control characters never appear in Weir's paths")
            return {"statusCode": bad.status, "headers": {"Content-Type": JSON}, "isBase64Encoded": False,
                    "body": encode(ErrorBody(bad.code, bad.message, None)).decode()}
        return super().resolve(event, context)


def build_app(services: ApiServices) -> APIGatewayRestResolver:
    app = _Resolver()
    if services.auth is not None or services.limiter is not None:
        app.use([_guard(services)])
    for feature in FEATURES:
        app.include_router(feature.router(services))

    @app.exception_handler(WeirError)
    def weir_error(exc: WeirError):
        if exc.status >= 500:
            log.error("request failed: %s", exc.message)
        response = error_response(exc)
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="weir"'
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return response

    @app.not_found
    def not_found(_exc: RouteNotFound):
        ev = app.current_event
        allowed = _allowed_methods(app, ev.path)
        if allowed:
            response = json_response(405, ErrorBody(
                "method_not_allowed", f"{ev.http_method} is not allowed on {ev.path}; use {', '.join(allowed)}"))
            response.headers["Allow"] = ", ".join(allowed)
            return response
        return json_response(
            404,
            ErrorBody("not_found", f"no route for {ev.http_method} {ev.path}; GET /openapi.json lists the routes"),
        )

    @app.exception_handler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error (a bug): %s", exc)
        return json_response(500, ErrorBody("internal_error", "internal error; the server log has the details"))

    return app


def _allowed_methods(app: APIGatewayRestResolver, path: str) -> list[str]:
    """The methods of the routes whose pattern matches `path` (Powertools keeps its routes in
    these two lists; tests/http/test_app.py fails if that changes)."""
    routes = app._static_routes + app._dynamic_routes
    return sorted({route.method for route in routes if route.rule.match(path)})


def _guard(services: ApiServices):
    """A middleware: authenticate, then spend a token of the caller's rate limit."""
    auth, limiter = services.auth, services.limiter

    def guard(app: APIGatewayRestResolver, next_middleware):
        ev = app.current_event
        headers = ev.headers or {}
        if auth is not None:
            auth.check(ev.http_method, ev.path, headers)
        if limiter is not None and ev.path != "/health":
            key = presented_key(headers)
            limiter.take(f"key:{digest(key)}" if key else f"ip:{ev.request_context.identity.source_ip}")
        return next_middleware(app)

    return guard
