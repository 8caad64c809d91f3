"""Routes for the wire formats of existing metric clients: InfluxDB, Pushgateway, OTLP.

Joined into the one route table by `build_app` (so `weir serve` and the `api` Lambda both
have them). Each handler reads the body with the same size, gzip and base64 rules as
`POST /metrics`, hands it to a decoder in `weir.wire.shared`, and the decoded points go
through `IngestService.ingest_points`, so validation, limits and partial success are shared.
Only the answer follows each protocol:

| | all stored | some rejected | none stored / malformed |
|---|---|---|---|
| InfluxDB `/write`, `/api/v2/write` | 204 | 400 `partial_write` (valid points are stored, as InfluxDB does) | 400 |
| Pushgateway `/metrics/job/...` | 200 `{accepted, rejected}` | 200 `{accepted, rejected}` (as `POST /metrics`) | 400 |
| OTLP `/v1/metrics` | 200, empty response | 200 with `partial_success` | 400 `google.rpc.Status` |
"""

from __future__ import annotations

import msgspec
from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir import __version__
from weir.errors import InvalidInputError, UnsupportedMediaTypeError, WeirError
from weir.http.responses import json_response, media_type, query_params, request_body
from weir.http.services import ApiServices
from weir.metrics.model import Rejected
from weir.wire.influx import LineProtocolDecoder
from weir.wire.otlp import decode as otlp_format
from weir.wire.pushgateway import PushService
from weir.wire.shared import ingest_located

# /ping's headers: the InfluxDB API version whose /write Weir follows, then Weir's own.
INFLUX_PING_HEADERS = {"X-Influxdb-Version": f"1.8-weir-{__version__}", "X-Influxdb-Build": "OSS"}
INFLUX_PARAMS = frozenset({"db", "rp", "precision", "consistency", "u", "p", "org", "orgID", "bucket"})
PUSH_PROTOBUF = "application/vnd.google.protobuf"
OTLP_TYPES = (otlp_format.PROTOBUF, otlp_format.JSON)
PUSH_ROUTE = "/metrics/job(?:@base64)?/.+"  # any number of /<label>/<value> pairs: a regex, read from the path
# How the routes above appear in the OpenAPI document (a regex is not an OpenAPI path).
DOC_PATHS = {PUSH_ROUTE: "/metrics/job/{grouping}"}
_GRPC_INVALID_ARGUMENT, _GRPC_INTERNAL, _GRPC_UNAVAILABLE = 3, 13, 14


class PartialWrite(msgspec.Struct):
    error: str
    message: str
    accepted: int
    rejected: list[Rejected]


def router(services: ApiServices) -> Router:
    app = Router()
    influx = LineProtocolDecoder()
    push = PushService(services.ingest, services.push_groups)

    def read(accept: tuple[str, ...] | None, empty: str | None) -> bytes | str:
        """The body via `request_body` (size, base64, gzip); `accept=None` takes any media type."""
        event = app.current_event
        if not event.body:
            if empty is None:
                return b""
            raise InvalidInputError(empty)
        if accept is None:
            accept = (media_type(event),)
        return request_body(event, accept=accept)

    # -- InfluxDB line protocol -----------------------------------------------------------

    def influx_write():
        params = query_params(app.current_event)
        unknown = sorted(set(params) - INFLUX_PARAMS)
        if unknown:
            raise InvalidInputError(
                f"unknown query parameter {unknown[0]!r}; this endpoint takes {', '.join(sorted(INFLUX_PARAMS))}"
            )
        body = read(None, "the request body is empty; send line protocol: measurement,tag=v field=1 [time]")
        decoded = influx.decode(body, params.get("precision") or "ns")
        result = ingest_located(services.ingest, decoded.points, decoded.rejected, decoded.where)
        if result.rejected:
            n = len(result.rejected)
            return json_response(400, PartialWrite(
                "partial_write",
                f"partial write: {n} of {n + result.accepted} points rejected, the others were stored "
                f"(first: {result.rejected[0].error})",
                result.accepted, result.rejected,
            ))
        return Response(status_code=204, content_type=None, body="")

    app.post("/write")(influx_write)
    app.post("/api/v2/write")(influx_write)

    @app.route("/ping", method=["GET", "HEAD"])
    def influx_ping():
        """InfluxDB's liveness probe, which Telegraf and influxdb-client's `ping()` send."""
        return Response(status_code=204, content_type=None, body="", headers=INFLUX_PING_HEADERS)

    # -- Prometheus Pushgateway -----------------------------------------------------------

    def pushgateway():
        event = app.current_event
        method = event.http_method.upper()
        if method == "DELETE":
            deleted = push.delete(event.path)
            return json_response(202, {"deleted": deleted})
        if media_type(event) == PUSH_PROTOBUF:
            raise UnsupportedMediaTypeError(
                "the Pushgateway protobuf format is not supported; push the text format "
                "(text/plain; version=0.0.4), as prometheus_client does"
            )
        body = read(None, None)
        return json_response(200, push.push(method, event.path, body))

    app.route(PUSH_ROUTE, method=["PUT", "POST", "DELETE"])(pushgateway)

    @app.get("/pushgateway/groups")
    def push_groups():
        return json_response(200, push.list_groups())

    # -- OpenTelemetry OTLP/HTTP ----------------------------------------------------------

    @app.post("/v1/metrics")
    def otlp_metrics():
        ctype = media_type(app.current_event)
        if ctype not in OTLP_TYPES:
            raise UnsupportedMediaTypeError(
                f"content-type {ctype!r} is not accepted here; send {' or '.join(OTLP_TYPES)}"
            )
        try:
            body = read(OTLP_TYPES, "the request body is empty; send an ExportMetricsServiceRequest")
            decoded = otlp_format.decode(body, ctype)
            if not decoded.points:
                rejected: list[Rejected] = []
            else:
                rejected = ingest_located(services.ingest, decoded.points, decoded.rejected, decoded.where).rejected
        except WeirError as exc:
            code = _GRPC_INVALID_ARGUMENT if exc.status < 500 else (
                _GRPC_UNAVAILABLE if exc.status == 503 else _GRPC_INTERNAL)
            return _otlp_answer(exc.status, ctype, otlp_format.status(ctype, code, exc.message, exc.code))
        n = otlp_format.rejected_data_points(decoded, rejected)
        message = otlp_format.summary(decoded, rejected, n)
        return _otlp_answer(200, ctype, otlp_format.response(ctype, n, message))

    return app


def _otlp_answer(status: int, ctype: str, body: bytes) -> Response:
    # Powertools would JSON-serialize a bytes body sent as application/json; bytes of any
    # other type are sent base64-encoded with isBase64Encoded, as API Gateway expects.
    return Response(status_code=status, content_type=ctype, body=body.decode() if ctype == otlp_format.JSON else body)
