"""Decoding and validating `POST /metrics` bodies: Weir's own JSON wire format.

The fast path decodes a whole valid batch in one msgspec call (types, finiteness, the
gauge/counter literal, time zones: all checked in C). Only when that fails do we decode
point by point, to tell the client which indices were wrong while keeping the rest
(partial success, as OTLP does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from weir.errors import InvalidInputError, PayloadTooLargeError
from weir.metrics import limits
from weir.metrics.model import IngestResult, RawBatch, Rejected, SeedDatapoint, WireBatch, WirePoint, msgspec_message

if TYPE_CHECKING:
    from weir.metrics.ingest import IngestService

_batch = msgspec.json.Decoder(WireBatch)
_raw_batch = msgspec.json.Decoder(RawBatch)
_point = msgspec.json.Decoder(WirePoint)
_seed_point = msgspec.json.Decoder(SeedDatapoint)
_object = msgspec.json.Decoder(dict[str, msgspec.Raw])

_NOT_A_BATCH = ("Object missing required field `metrics`", "Object contains unknown field")


def decode_points(body: bytes | str) -> tuple[list[WirePoint | None], list[Rejected]]:
    """Return the decoded points (None where rejected) and the rejections, by index."""
    try:
        return _decode_points(body)
    except RecursionError:
        raise InvalidInputError("body: JSON nested too deeply; a datapoint is a flat object") from None


def _decode_points(body: bytes | str) -> tuple[list[WirePoint | None], list[Rejected]]:
    try:
        points: list[WirePoint | None] = list(_batch.decode(body).metrics)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        if msg.startswith(_NOT_A_BATCH) and " - at `$." not in msg:
            return [_decode_single(body)], []
        if "$.metrics[" not in msg:
            raise InvalidInputError(msgspec_message(msg)) from None
        return _decode_each(body)
    except msgspec.DecodeError as exc:
        raise InvalidInputError(f"body is not valid JSON: {exc}") from None
    _check_count(len(points))
    return points, []


def _decode_single(body: bytes | str) -> WirePoint:
    try:
        keys = _object.decode(body)
        if "metric_name" in keys:
            return _seed_point.decode(body).to_wire()
        return _point.decode(body)
    except msgspec.ValidationError as exc:  # first: a ValidationError is also a DecodeError
        raise InvalidInputError(msgspec_message(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidInputError(f"body is not valid JSON: {exc}") from None


def _decode_each(body: bytes | str) -> tuple[list[WirePoint | None], list[Rejected]]:
    try:
        raws = _raw_batch.decode(body).metrics
    except msgspec.ValidationError as exc:  # first: a ValidationError is also a DecodeError
        raise InvalidInputError(msgspec_message(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise InvalidInputError(f"body is not valid JSON: {exc}") from None
    _check_count(len(raws))
    points: list[WirePoint | None] = []
    rejected: list[Rejected] = []
    for i, raw in enumerate(raws):
        try:
            points.append(_point.decode(raw))
        except msgspec.ValidationError as exc:
            points.append(None)
            rejected.append(Rejected(i, msgspec_message(str(exc))))
    return points, rejected


def _check_count(n: int) -> None:
    if n > limits.MAX_POINTS_PER_REQUEST:
        raise PayloadTooLargeError(
            f"metrics: {n} points in one request; send at most {limits.MAX_POINTS_PER_REQUEST} per request"
        )
    if n == 0:
        raise InvalidInputError("metrics: the batch is empty; send at least one datapoint")


def ingest_json(ingest: IngestService, body: bytes | str) -> IngestResult:
    """Decode a `POST /metrics` body and hand its points to the ingest service."""
    points, rejected = decode_points(body)
    return ingest.ingest_points(points, rejected)
