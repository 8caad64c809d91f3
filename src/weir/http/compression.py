"""gzip for `weir serve`'s JSON answers, when the client asks for it.

Prometheus' HTTP API gzips its answers for clients that send `Accept-Encoding: gzip`, and
its clients (Grafana, promtool, vmalert, the Go and Python HTTP clients) all send it: a
`query_range` answer of many series is mostly repeated label sets and digits, about a tenth
of its size gzipped. Weir does the same for every JSON answer above `MIN_BYTES` (a small
answer gains nothing and costs a header). Other answers keep their encoding: protobuf and
snappy bodies (remote read), the web UI's files, anything already encoded.

The `api` Lambda answers through API Gateway, which would need the gzip body base64-encoded
and `*/*` among the binary media types: it is left uncompressed there (API Gateway's own
`minimumCompressionSize` setting is the way to compress it).
"""

from __future__ import annotations

import zlib

MIN_BYTES = 1024  # smaller JSON answers are sent as they are
# zlib level 1: on a 3.2 MB query_range answer (200 series x 721 random values) it made 0.98 MB
# in 39 ms, where level 6 made 0.80 MB in 430 ms and level 9 0.79 MB in 1 s (the shared 2-core
# machine, loaded). The answer is sent once, over loopback or a LAN: speed wins.
LEVEL = 1


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an `Accept-Encoding` value allows gzip (RFC 9110: `gzip`, `x-gzip` or `*` with a
    q-value above 0; `gzip;q=0` refuses it even beside `*`)."""
    if not accept_encoding:
        return False
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        coding = coding.strip().lower()
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if coding:
            weights[coding] = q
    for name in ("gzip", "x-gzip"):
        if name in weights:
            return weights[name] > 0
    return weights.get("*", 0.0) > 0


def worth_compressing(content_type: str | None, content_encoding: str | None, size: int) -> bool:
    """A JSON answer (`application/json` or a `+json` type) of at least MIN_BYTES, not encoded yet."""
    if size < MIN_BYTES or content_encoding not in (None, "", "identity"):
        return False
    media = (content_type or "").split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def gzip(payload: bytes) -> bytes:
    """A gzip member (RFC 1952) of the payload, as `Content-Encoding: gzip` sends it."""
    c = zlib.compressobj(LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return c.compress(payload) + c.flush()
