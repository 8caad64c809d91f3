"""What every route module shares: JSON answers, error bodies, and reading a request body
(media type, size, base64, gzip). Route modules import these, never the app module."""

from __future__ import annotations

import base64
import zlib

import msgspec

# from the submodule, not the package: see weir.lambdas.lean
from aws_lambda_powertools.event_handler.api_gateway import Response

from weir.errors import InvalidInputError, PayloadTooLargeError, UnsupportedMediaTypeError, WeirError
from weir.metrics import limits
from weir.metrics.model import ErrorBody

JSON = "application/json"
encode = msgspec.json.Encoder().encode


def json_response(status: int, payload: object) -> Response:
    return Response(status_code=status, content_type=JSON, body=encode(payload).decode())


def error_response(exc: WeirError) -> Response:
    rejected = exc.details if isinstance(exc.details, list) else None
    return json_response(exc.status, ErrorBody(exc.code, exc.message, rejected))


def query_params(event) -> dict[str, str]:
    """The query string as a plain dict (a copy: handlers pop what they read)."""
    return dict(event.query_string_parameters or {})


def query_params_once(event) -> dict[str, str]:
    """The query string as a plain dict; a parameter given twice is a 400, where the plain
    dict would silently keep the last value (the metrics API's own queries)."""
    for key, values in (event.multi_value_query_string_parameters or {}).items():
        if len(values) > 1:
            raise InvalidInputError(f"{key}: given {len(values)} times; give each query parameter once")
    return query_params(event)


def media_type(event) -> str:
    headers = {k.lower(): v for k, v in (event.headers or {}).items()}
    return headers.get("content-type", "").split(";")[0].strip().lower()


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

