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
from aws_lambda_powertools.event_handler.api_gateway import (
    APIGatewayRestResolver,
    BaseRouter,
    Response,
    ResponseBuilder,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound

from weir.errors import NotFoundError, UnauthorizedError, WeirError
from weir.http import workpool
from weir.http.responses import JSON, encode, error_response, json_response
from weir.http.routes import alerts, cardinality, files, formats, metrics, prometheus, remote, status, ui
from weir.http.services import ApiServices
from weir.metrics.model import ErrorBody
from weir.ratelimit import RateLimitedError

log = logging.getLogger(__name__)

# In this order: a request is matched against the routes in the order they were added.
FEATURES = (metrics, alerts, files, formats, remote, prometheus, cardinality, status, ui)


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

    # -- heavy routes run on the gateway's work pool (see weir.http.workpool) -------------

    @property
    def current_event(self):
        """The request being resolved; on a pool worker, the snapshot of its own request."""
        return workpool.current_snapshot() or BaseRouter.current_event

    @current_event.setter
    def current_event(self, value) -> None:
        BaseRouter.current_event = value

    def route(self, rule, method, *args, **kwargs):
        """Register a route (`include_router` registers every Router's routes here too); a
        heavy one (every GET not marked light, any marked heavy) is wrapped for the pool."""
        register = super().route(rule, method, *args, **kwargs)
        methods = (method,) if isinstance(method, str) else tuple(method)

        def decorator(func):
            if workpool.runs_on_pool(func, methods):
                register(workpool.offloadable(func, self._job, _placeholder))
                return func
            return register(func)

        return decorator

    def _job(self, func, args: tuple, kwargs: dict):
        """What the pool runs for a heavy route: its function, with its request, to the
        proxy response the resolve would have built (errors through the same handlers)."""
        event, route = self.current_event, self.context.get("_route")

        def job() -> dict:
            with workpool.snapshot_event(event):
                try:
                    response = func(*args, **kwargs)
                except Exception as exc:
                    handler = self.exception_handler_manager.lookup_exception_handler(type(exc))
                    if handler is None:
                        raise
                    response = handler(exc)
                builder: ResponseBuilder = ResponseBuilder(response=response, serializer=self._serializer, route=route)
                return builder.build(event, self._cors)

        return job


def _placeholder() -> Response:
    """What a heavy route returns to the resolve on the loop thread: never sent (the gateway
    answers with its job's response instead)."""
    return Response(status_code=202, content_type=JSON, body="")


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


def authenticate(services: ApiServices):
    """`check(method, path, headers, source_ip)`: the verified key's digest, None when no key
    was checked, or UnauthorizedError -- after a wrong key has spent a token of its address's
    rate limit (RateLimitedError once those are gone). The gateway calls it before it reads a
    body, the guard at every resolve."""
    auth, limiter = services.auth, services.limiter

    def check(method: str, path: str, headers, source_ip: str) -> str | None:
        if auth is None:
            return None
        try:
            return auth.check(method, path, headers)
        except UnauthorizedError:
            if limiter is not None:  # wrong keys spend the address's tokens too
                limiter.take(f"ip:{source_ip}")
            raise

    return check


def _guard(services: ApiServices):
    """A middleware: authenticate, then spend a token of the caller's rate limit.

    The caller is its API key only when that key was verified; otherwise (no key configured,
    reads under --open-reads, a wrong key) it is the client address, whatever header it sent.
    """
    limiter = services.limiter
    check = authenticate(services)

    def guard(app: APIGatewayRestResolver, next_middleware):
        ev = app.current_event
        source_ip = ev.request_context.identity.source_ip
        verified = check(ev.http_method, ev.path, ev.headers or {}, source_ip)
        if limiter is not None and ev.path != "/health":
            limiter.take(f"key:{verified}" if verified else f"ip:{source_ip}")
        return next_middleware(app)

    return guard
