"""Prometheus remote write (`POST /api/v1/write`) and remote read (`POST /api/v1/read`).

Write follows the remote-write specifications' HTTP semantics:
- The message is told by `Content-Type`: `application/x-protobuf` alone or with
  `proto=prometheus.WriteRequest` is 1.0, `proto=io.prometheus.write.v2.Request` is 2.0;
  any other is a 415 listing both. The body is snappy block format (`Content-Encoding:
  snappy`, or none, as Prometheus' own receiver takes it); another encoding is a 415.
- 204 when everything was stored. 400 (senders do not retry it) for a malformed body and
  for a partially invalid one: the valid series are stored, and the answer names the
  series dropped. 413 for a body over the size or sample limits (also not retried). 5xx
  (storage failing) and 429 (the rate limit, with `Retry-After`) are the retryable answers.
- 2.0 answers, errors included, carry `X-Prometheus-Remote-Write-Samples-Written`,
  `-Histograms-Written` (always 0: native histograms are refused) and `-Exemplars-Written`
  (always 0: exemplars are skipped).

Read answers SAMPLES, snappy-compressed (see `weir.wire.remote_read`), bounded by
`weir.wire.remote.MAX_READ_SAMPLES` and by `MAX_READ_RESPONSE_BYTES`.
"""

from __future__ import annotations

import base64

from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from weir.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaTypeError, WeirError
from weir.http import workpool
from weir.http.responses import error_response, json_response
from weir.http.services import ApiServices
from weir.metrics import limits
from weir.metrics.model import ErrorBody

PROTOBUF = "application/x-protobuf"
WRITE_PATH, READ_PATH = "/api/v1/write", "/api/v1/read"
V1, V2 = "prometheus.WriteRequest", "io.prometheus.write.v2.Request"  # as `weir.wire.remote_write` names them
ACCEPTED = (f"{PROTOBUF};proto={V1}", f"{PROTOBUF};proto={V2}")
# A decompressed write body: a full request of MAX_POINTS_PER_REQUEST samples, each series
# with its labels, stays far below this; Prometheus' own receiver allows 32 MiB too.
MAX_DECODED_BYTES = 32 * 1024 * 1024
MAX_READ_REQUEST_BYTES = 1024 * 1024
# API Gateway and Lambda return at most 6 MB, base64-encoded for a binary body; kept
# locally too, so that a read that works against `weir serve` works against a deployment.
MAX_READ_RESPONSE_BYTES = limits.MAX_BODY_BYTES * 3 // 4
WRITTEN = ("X-Prometheus-Remote-Write-Samples-Written", "X-Prometheus-Remote-Write-Histograms-Written",
           "X-Prometheus-Remote-Write-Exemplars-Written")


def router(services: ApiServices) -> Router:
    """The routes; the decoders and services are imported by the first remote request, not
    at a Lambda's cold start (most deployments never receive one)."""
    app = Router()
    made: dict[str, object] = {}

    def writer():
        if "writer" not in made:
            from weir.wire.remote import RemoteWriteService

            made["writer"] = RemoteWriteService(services.ingest)
        return made["writer"]

    def reader():
        if "reader" not in made:
            from weir.wire.remote import RemoteReadService

            made["reader"] = RemoteReadService(services.store)
        return made["reader"]

    @app.post(WRITE_PATH)
    def remote_write():
        event = app.current_event
        headers = {k.lower(): v for k, v in (event.headers or {}).items()}
        version = message_type(headers.get("content-type", ""))
        try:
            from weir.wire import pb

            _check_encoding(headers)
            data = pb.unsnappy(raw_body(event), MAX_DECODED_BYTES)
            outcome = writer().write(data, version)
        except WeirError as exc:
            response = error_response(exc)
            if version == V2:
                response.headers.update(dict.fromkeys(WRITTEN, "0"))
            return response
        written = {WRITTEN[0]: str(outcome.written), WRITTEN[1]: "0", WRITTEN[2]: "0"} if version == V2 else {}
        if outcome.dropped:
            response = json_response(400, ErrorBody("partial_write", outcome.message(), outcome.dropped[:100]))
            response.headers.update(written)
            return response
        return Response(status_code=204, content_type=None, body="", headers=written)

    @app.post(READ_PATH)
    @workpool.heavy  # a read: on `weir serve`'s work pool, off the event loop
    def remote_read():
        event = app.current_event
        headers = {k.lower(): v for k, v in (event.headers or {}).items()}
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in ("", PROTOBUF):
            raise UnsupportedMediaTypeError(f"content-type {ctype!r} is not accepted here; send {PROTOBUF}")
        _check_encoding(headers)
        from weir.wire import pb
        from weir.wire import remote_read as rr
        from weir.wire.remote import ReadLimitError

        queries, accepted = rr.decode_request(pb.unsnappy(raw_body(event), MAX_READ_REQUEST_BYTES))
        rr.response_type(accepted)
        body = pb.snappy(rr.encode_response(reader().read(queries)))
        if len(body) > MAX_READ_RESPONSE_BYTES:
            raise ReadLimitError(
                f"the answer would be {len(body)} bytes, more than the {MAX_READ_RESPONSE_BYTES} an answer may "
                f"be (API Gateway's payload limit); query a shorter range or fewer series"
            )
        return Response(status_code=200, content_type=PROTOBUF, body=body, headers={"Content-Encoding": "snappy"})

    return app


def message_type(content_type: str) -> str:
    """The write message a Content-Type names (the 2.0 specification's negotiation)."""
    if not content_type.strip():
        return V1  # as Prometheus' receiver: no Content-Type is a 1.0 sender
    media, *params = [p.strip() for p in content_type.split(";")]
    proto = None
    for p in params:
        key, _, value = p.partition("=")
        if key.strip().lower() == "proto":
            proto = value.strip().strip('"')
    if media.lower() == PROTOBUF and proto in (None, V1, V2):
        return proto or V1
    raise UnsupportedMediaTypeError(
        f"content-type {content_type[:200]!r} is not accepted here; send {' or '.join(ACCEPTED)} "
        f"(snappy-compressed)"
    )


def _check_encoding(headers: dict[str, str]) -> None:
    encoding = headers.get("content-encoding", "").strip().lower()
    if encoding not in ("", "snappy"):
        raise UnsupportedMediaTypeError(f"content-encoding {encoding!r} is not accepted here; send snappy")


def raw_body(event) -> bytes:
    """The body's bytes (API Gateway hands binary bodies over base64-encoded), size-checked."""
    body = event.body or ""
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise InvalidInputError("the body is marked base64 but is not valid base64") from None
    else:
        data = body.encode("utf-8") if isinstance(body, str) else body
    if len(data) > limits.MAX_BODY_BYTES:
        raise PayloadTooLargeError(f"the body is larger than {limits.MAX_BODY_BYTES} bytes; send smaller requests")
    return data
