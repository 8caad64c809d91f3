"""Prometheus' HTTP API (`/api/v1/...`): PromQL queries and the series metadata Grafana,
promtool, vmalert and Prometheus client libraries ask for.

One Powertools `Router`, joined into the one route table (`weir.http.app`), so `weir serve` and the `api`
Lambda both answer, behind the same API-key middleware as every other route (the query
endpoints take POST as reads: see `weir.auth`). Every endpoint takes GET, and POST with a
form-encoded body (`application/x-www-form-urlencoded`, as Grafana sends by default), except
the label values, metadata and build information, which Prometheus serves on GET only.

The answers are in `weir.promql.api` (pure); this module only reads the request and writes
the answer in Prometheus' envelope. Every error, Weir's own included, is answered in that
envelope with Prometheus' `errorType` and status: 400 `bad_data`, 422 `execution`, 503
`timeout`, so a client's error handling works unchanged. The engine (numpy) is imported on
the first query, never on a Lambda cold start.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
from collections.abc import Callable

# from the submodule, not the package: see weir.lambdas.lean
from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir.errors import WeirError
from weir.http.responses import JSON, encode, request_body
from weir.http.services import ApiServices
from weir.promql import api
from weir.promql.errors import BadDataError, PromQLError

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
# Paths served on GET and POST alike; the others are GET only (as Prometheus serves them).
GET_AND_POST = ("/query", "/query_range", "/series", "/labels", "/format_query", "/query_exemplars")
GET_ONLY = ("/label/<name>/values", "/metadata", "/status/buildinfo")
# How `weir.auth` tells a read from a write: these POSTs read.
READ_POSTS = frozenset(PREFIX + p for p in GET_AND_POST)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_LAMBDA_MARGIN_MS = 1_500  # left for writing the answer once a query stops at its deadline


def router(services: ApiServices, *, max_samples: int | None = None) -> Router:
    """The `/api/v1` routes over `services.store`; `services.query.clock` tells the time.
    `max_samples`: the engine's bound on samples a query loads (default: the engine's)."""
    app = Router()
    clock: Callable[[], float] = getattr(services.query, "clock", time.time)

    def source():
        from weir.promql.source import StoreSource

        return StoreSource(services.store)

    def engine():
        from weir.promql.engine import Engine

        return Engine(source()) if max_samples is None else Engine(source(), max_samples=max_samples)

    def params() -> api.Params:
        event = app.current_event
        return api.Params.merge(_form(event), event.multi_value_query_string_parameters)

    def deadline(p: api.Params) -> float:
        """When the query must stop (`time.monotonic()`): its timeout, and on Lambda the
        invocation's remaining time less a margin, whichever comes first."""
        budget = api.timeout_ms(p)
        left = _lambda_ms_left(app.lambda_context)
        if left is not None:
            budget = max(0, min(budget, left - _LAMBDA_MARGIN_MS))
        return time.monotonic() + budget / 1000

    def query():
        p = params()
        return api.query(engine(), p, int(clock() * 1000), deadline(p))

    def query_range():
        p = params()
        return api.query_range(engine(), p, deadline(p))

    handlers: dict[str, Callable[..., dict]] = {
        "/query": query,
        "/query_range": query_range,
        "/series": lambda: api.series(source(), params()),
        "/labels": lambda: api.labels(source(), params()),
        "/format_query": lambda: api.format_query(params()),
        "/query_exemplars": lambda: api.query_exemplars(params()),
        "/label/<name>/values": lambda name: api.label_values(
            source(), name, params(), services.store.metric_names),
        "/metadata": lambda: api.metadata(source(), params()),
        "/status/buildinfo": api.buildinfo,
    }
    for path, fn in handlers.items():
        methods = ["GET", "POST"] if path in GET_AND_POST else ["GET"]
        app.route(PREFIX + path, method=methods)(_answering(fn))
    return app


def _answering(fn: Callable[..., dict]) -> Callable[..., Response]:
    """The handler's answer, or its error, as Prometheus' envelope."""

    def handler(**kwargs) -> Response:
        try:
            return _json(200, fn(**kwargs))
        except PromQLError as exc:
            return _json(exc.status, api.failure(exc.error_type, exc.message))
        except WeirError as exc:  # the store's or the body reader's own errors
            if exc.status >= 500:
                log.error("query failed: %s", exc.message)
                return _json(exc.status, api.failure("unavailable" if exc.status == 503 else "internal", exc.message))
            return _json(exc.status, api.failure("bad_data", exc.message))
        except RecursionError:
            return _json(422, api.failure("execution", "the expression nests too deeply to evaluate; simplify it"))
        except Exception as exc:
            log.exception("unhandled error in %s (a bug): %s", fn, exc)
            return _json(500, api.failure("internal", "internal error; the server log has the details"))

    return handler


def _json(status: int, payload: dict) -> Response:
    return Response(status_code=status, content_type=JSON, body=encode(payload).decode())


def _form(event) -> dict[str, list[str]]:
    """The form-encoded body's parameters (size, base64 and gzip as for every body)."""
    if not event.body:
        return {}
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    if not headers.get("content-type"):
        raise BadDataError(f"the request has a body but no Content-Type; send the parameters as {api.FORM}")
    raw = request_body(event, accept=(api.FORM,), empty_ok=True)
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    if _BAD_ESCAPE.search(text):
        raise BadDataError("error parsing form values: invalid URL escape in the body")
    out: dict[str, list[str]] = {}
    for k, v in urllib.parse.parse_qsl(text, keep_blank_values=True):
        out.setdefault(k, []).append(v)
    return out


def _lambda_ms_left(context) -> int | None:
    """The invocation's remaining milliseconds on Lambda; None under `weir serve` (no limit)."""
    from weir.http.gateway import LambdaContext as LocalContext

    get = getattr(context, "get_remaining_time_in_millis", None)
    if get is None or isinstance(context, LocalContext):
        return None
    return int(get())
