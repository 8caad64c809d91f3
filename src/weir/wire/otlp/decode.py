"""OTLP/HTTP metrics requests in, OTLP answers out: the entry point of `weir.wire.otlp`.

A request is decoded by the fast path of its encoding (`fast_pb`, `fast_json`), which falls
back to the reference walk (`reference`) for whatever it cannot vouch for; see `reference`
for how OTLP data points become Weir points. The answers (`response`, `status`) are
`ExportMetricsServiceResponse` with `partial_success`, and `google.rpc.Status`.
"""

from __future__ import annotations

import msgspec

from weir.metrics.model import Rejected
from weir.wire.otlp.reference import Decoded, _pb, _varint

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def decode(body: bytes | str, content_type: str) -> Decoded:
    """Decode an export request of either encoding; raises InvalidInputError when malformed."""
    if content_type == JSON:
        from weir.wire.otlp import fast_json

        return fast_json.decode(body)
    from weir.wire.otlp import fast_pb

    return fast_pb.decode(body.encode("utf-8") if isinstance(body, str) else body)


def rejected_data_points(decoded: Decoded, rejected: list[Rejected]) -> int:
    """OTLP counts data points: one is rejected if any Weir point made from it was."""
    return len({decoded.origin[r.index] for r in rejected if r.index < len(decoded.origin)})


def summary(decoded: Decoded, rejected: list[Rejected], n_rejected: int) -> str:
    parts = []
    if rejected:
        first = "; ".join(r.error for r in rejected[:3])
        parts.append(f"{n_rejected} data point(s) rejected: {first}" + (" ..." if len(rejected) > 3 else ""))
    parts.extend(f"{text} ({n})" for text, n in decoded.warnings.items())
    return "; ".join(parts)


def response(content_type: str, n_rejected: int, message: str) -> bytes:
    """ExportMetricsServiceResponse: empty on full success, else `partial_success`."""
    if content_type == JSON:
        if not n_rejected and not message:
            return b"{}"
        return msgspec.json.encode(
            {"partialSuccess": {"rejectedDataPoints": str(n_rejected), "errorMessage": message}}
        )
    pb = _pb()
    resp = pb.ExportMetricsServiceResponse()
    if n_rejected or message:
        resp.partial_success.rejected_data_points = n_rejected
        resp.partial_success.error_message = message
    return resp.SerializeToString()


def status(content_type: str, code: int, message: str, error: str) -> bytes:
    """A google.rpc.Status, as OTLP/HTTP answers errors (`error` is Weir's code, JSON only)."""
    if content_type == JSON:
        return msgspec.json.encode({"code": code, "message": message, "error": error})
    text = message.encode("utf-8")
    return b"\x08" + _varint(code) + b"\x12" + _varint(len(text)) + text
