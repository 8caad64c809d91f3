"""The route table of the Weir API, defined once.

`build_app` returns the Powertools resolver that the `api` Lambda calls and that the
local gateway calls for every request of `weir serve`. Handlers only translate HTTP to
service calls; every error becomes JSON with a message a person can act on.
"""

from __future__ import annotations

import base64
import logging
import math
import zlib

import msgspec

# from the submodule, not the package: see weir.lambdas.lean
from aws_lambda_powertools.event_handler.api_gateway import (
    APIGatewayRestResolver,
    BaseRouter,
    Response,
    ResponseBuilder,
)
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as RouteNotFound

from weir import __version__
from weir.errors import (
    InvalidInputError,
    NotFoundError,
    PayloadTooLargeError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    WeirError,
)
from weir.http import workpool
from weir.metrics import limits
from weir.metrics.model import ErrorBody, Health
from weir.ratelimit import RateLimitedError
from weir.wiring import Services

log = logging.getLogger(__name__)

JSON = "application/json"
_encode = msgspec.json.Encoder().encode


def json_response(status: int, payload: object) -> Response:
    return Response(status_code=status, content_type=JSON, body=_encode(payload).decode())


def error_response(exc: WeirError) -> Response:
    rejected = exc.details if isinstance(exc.details, list) else None
    return json_response(exc.status, ErrorBody(exc.code, exc.message, rejected))


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
                    "body": _encode(ErrorBody(bad.code, bad.message, None)).decode()}
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
        """Register a route; a heavy one (every GET not marked light) is wrapped for the pool."""
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


def build_app(services: Services) -> APIGatewayRestResolver:
    app = _Resolver()

    def params() -> dict[str, str]:
        return dict(app.current_event.query_string_parameters or {})

    if services is not None and (services.auth is not None or services.limiter is not None):
        app.use([_guard(services)])

    @app.get("/health")
    @workpool.light
    def health():
        ready = services.store.ready()
        return json_response(200, Health("ok" if ready else "starting", __version__, services.store.backend))

    @app.post("/metrics")
    def post_metrics():
        body = request_body(app.current_event, accept=("application/json",))
        return json_response(200, services.ingest.ingest_json(body))

    @app.get("/metrics")
    def list_metrics():
        return json_response(200, services.query.list_metrics())

    @app.get("/metrics/<name>/series")
    def list_series(name: str):
        return json_response(200, services.query.list_series(name, params()))

    @app.get("/metrics/<name>")
    def query_metric(name: str):
        return json_response(200, services.query.query(name, params()))

    from weir.http import alerts_routes

    alerts_routes.register(app, services)

    from weir.http import files_routes

    files_routes.register(app, services)

    @app.get("/openapi.json")
    @workpool.light
    def openapi():
        from weir.http.openapi import document

        return Response(status_code=200, content_type=JSON, body=document())

    from weir.http.formats_routes import register as register_formats

    register_formats(app, services)

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
        return json_response(
            404,
            ErrorBody("not_found", f"no route for {ev.http_method} {ev.path}; GET /openapi.json lists the routes"),
        )

    @app.exception_handler(Exception)
    def unexpected(exc: Exception):
        log.exception("unhandled error (a bug): %s", exc)
        return json_response(500, ErrorBody("internal_error", "internal error; the server log has the details"))

    return app


def authenticate(services: Services):
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


def _guard(services: Services):
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


def request_body(event, *, accept: tuple[str, ...], empty_ok: bool = False) -> bytes | str:
    """The request body, checked for media type and size, gzip undone."""
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    ctype = headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype not in accept:
        raise UnsupportedMediaTypeError(
            f"content-type {ctype!r} is not accepted here; send {' or '.join(accept)}"
        )
    body: bytes | str = event.body or ""
    if event.is_base64_encoded:
        try:
            body = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidInputError("the body is marked base64 but is not valid base64") from None
    if len(body) > limits.MAX_BODY_BYTES:
        raise PayloadTooLargeError(_too_large())
    encoding = headers.get("content-encoding", "identity").strip().lower()
    if encoding == "gzip":
        body = gunzip(body if isinstance(body, bytes) else body.encode("latin-1"))
    elif encoding not in ("", "identity"):
        raise UnsupportedMediaTypeError(f"content-encoding {encoding!r} is not supported; use gzip or none")
    if not body and not empty_ok:
        raise InvalidInputError("the request body is empty; send a JSON datapoint or {\"metrics\": [...]}")
    return body


def gunzip(data: bytes) -> bytes:
    """Every member of a gzip body, bounded in total; a truncated stream or trailing garbage is a 400.

    A body of several members (`cat a.gz b.gz`, some streaming clients) is valid gzip: each
    member is decoded in turn, so nothing after the first is acknowledged and then dropped.
    Zero bytes after the last member are padding (as the gzip tool allows); anything else is
    refused rather than ignored.
    """
    out = bytearray()
    rest = data
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += d.decompress(rest, limits.MAX_BODY_BYTES + 1 - len(out))
        except zlib.error as exc:
            raise InvalidInputError(f"the body is not valid gzip: {exc}") from None
        if len(out) > limits.MAX_BODY_BYTES or d.unconsumed_tail:
            raise PayloadTooLargeError(_too_large(" after decompression"))
        if not d.eof:
            raise InvalidInputError("the body is not valid gzip: the stream is truncated")
        rest = d.unused_data
        if not rest.strip(b"\0"):
            return bytes(out)
        if not rest.startswith(b"\x1f\x8b"):
            raise InvalidInputError("the body is not valid gzip: trailing bytes after the last member")


def _too_large(suffix: str = "") -> str:
    return (
        f"the body is larger than {limits.MAX_BODY_BYTES} bytes{suffix}; split it into "
        f"several requests of at most {limits.MAX_POINTS_PER_REQUEST} points"
    )

