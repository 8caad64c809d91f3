"""The local gateway: an ASGI app that turns each HTTP request into an API Gateway REST
proxy event and calls the same resolver the `api` Lambda uses (the pattern of chalice's
`LocalGateway`). Local mode swaps adapters; it never forks request handling.

The resolver runs on the event loop thread: Powertools keeps the current event in a class
attribute, so two resolves must never overlap. Durable writes do not block the loop:
a store queues its commit and the gateway awaits it (see `weir.durability`) before it
answers, while other requests proceed and share the next commit. Heavy reads do not block
it either: their route functions run on a bounded pool of worker threads (see
`weir.http.workpool`), and a full pool is a 503 with `Retry-After`.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import time
import uuid
from collections.abc import Callable
from typing import Any

from weir.durability import deferred
from weir.errors import PayloadTooLargeError, StorageError, WeirError
from weir.http import compression
from weir.http.workpool import BusyError, WorkPool, offloads
from weir.metrics import limits
from weir.metrics.model import ErrorBody

log = logging.getLogger(__name__)

Handler = Callable[[dict, Any], dict]


class LambdaContext:
    """Just enough of the Lambda context object for Powertools."""

    function_name = "weir-local"
    function_version = "$LATEST"
    memory_limit_in_mb = 0
    invoked_function_arn = "arn:aws:lambda:local:000000000000:function:weir-local"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = self.log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


class RequestTimeoutError(WeirError):
    status = 408
    code = "request_timeout"


class _ClientGone(Exception):
    """The client disconnected before its body was complete: nothing of it is handled."""


DEFAULT_BODY_TIMEOUT = 60.0
OFFLOAD_COMPRESSION = 256 * 1024  # answers larger than this are gzipped on a thread
DEFAULT_MAX_BUFFERED = 128 * 1024 * 1024
Precheck = Callable[[str, str, dict, str], object]  # method, path, headers, client address


class LocalGateway:
    """`precheck(method, path, headers, client address)` runs before the body is read (the API-key check): a
    request it refuses is answered at once, its body never buffered. A body must arrive
    within `body_timeout` seconds of the headers, and all the bodies being read at once may
    hold at most `max_buffered` bytes (a 503 with Retry-After beyond), so slow or stalled
    uploads cost bounded memory for a bounded time."""

    def __init__(
        self,
        handler: Handler,
        *,
        max_body: int = limits.MAX_BODY_BYTES,
        on_shutdown: Callable[[], None] | None = None,
        pool: WorkPool | None = None,
        precheck: Precheck | None = None,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        max_buffered: int = DEFAULT_MAX_BUFFERED,
    ) -> None:
        self.handler = handler
        self.max_body = max_body
        self.on_shutdown = on_shutdown
        self.pool = pool if pool is not None else WorkPool()
        self.precheck = precheck
        self.body_timeout = body_timeout
        self.max_buffered = max_buffered
        self.buffered = 0  # bytes of request bodies held now (touched on the loop thread only)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        # Shutdown work runs here, not after uvicorn returns: uvicorn re-raises the
        # SIGTERM it caught once it stops, which would skip any code after `run()`.
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pool.close()
                if self.on_shutdown:
                    await asyncio.get_running_loop().run_in_executor(None, self.on_shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope, receive, send) -> None:
        headers: dict[str, str] = {}
        for k, v in scope["headers"]:
            key = k.decode("latin-1").lower()
            headers[key] = f"{headers[key]},{v.decode('latin-1')}" if key in headers else v.decode("latin-1")
        held = [0]
        try:
            if self.precheck is not None:
                client = scope.get("client") or ("127.0.0.1", 0)
                self.precheck(scope["method"], scope["path"], headers, client[0])
            body = await self._read_body(headers, receive, held)
        except _ClientGone:
            self.buffered -= held[0]
            return
        except WeirError as exc:
            self.buffered -= held[0]
            # Answered before the body is read: uvicorn discards the rest of it as it arrives,
            # so a client that sends it all before reading still gets this answer, and the
            # protocol closes the connection if the rest never comes (its linger timeout).
            # A body that timed out closes at once.
            await _send(send, exc.status, _error(exc), _error_headers(exc),
                        close=isinstance(exc, RequestTimeoutError))
            return
        try:
            await self._answer(scope, headers, body, send)
        finally:
            self.buffered -= held[0]

    async def _answer(self, scope, headers: dict[str, str], body: bytes, send) -> None:
        event = build_event(scope, headers, body)
        with deferred() as pending, offloads() as jobs:
            result = self.handler(event, LambdaContext())
        if jobs:  # a heavy route: the resolve left its work for the pool
            result = await self._offload(jobs[0])
        if pending:
            try:
                await asyncio.gather(*(asyncio.wrap_future(f) for f in pending))
            except WeirError as exc:
                result = {"statusCode": exc.status, "headers": {"Content-Type": "application/json"},
                          "body": _error(exc).decode()}
            except Exception as exc:  # never acknowledge what was not stored
                log.exception("durable write failed")
                err = StorageError(f"the write failed ({exc}); nothing of this request was acknowledged")
                result = {"statusCode": 503, "headers": {"Content-Type": "application/json"},
                          "body": _error(err).decode()}
        status = int(result.get("statusCode", 200))
        out_headers: list[tuple[bytes, bytes]] = []
        for k, v in (result.get("headers") or {}).items():
            out_headers.append((k.encode(), str(v).encode()))
        for k, values in (result.get("multiValueHeaders") or {}).items():
            out_headers.extend((k.encode(), str(v).encode()) for v in values)
        raw = result.get("body") or ""
        payload = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode()
        out_headers, payload = await _encode(headers.get("accept-encoding"), out_headers, payload)
        await send({"type": "http.response.start", "status": status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})

    async def _offload(self, job: Callable[[], dict]) -> dict:
        try:
            return await self.pool.run(job)
        except BusyError as exc:
            return {"statusCode": exc.status, "body": _error(exc).decode(),
                    "headers": {"Content-Type": "application/json", "Retry-After": str(math.ceil(exc.retry_after))}}
        except Exception:  # the exception handlers answer every error; this is a bug
            log.exception("a heavy request failed")
            return {"statusCode": 500, "headers": {"Content-Type": "application/json"},
                    "body": _error(WeirError("internal error; the server log has the details")).decode()}

    async def _read_body(self, headers: dict[str, str], receive, held: list[int]) -> bytes:
        """The whole body, within the size, time and memory bounds; `held[0]` counts the bytes
        this request added to `buffered` (the caller gives them back)."""
        declared = headers.get("content-length")
        if (declared is not None and declared.isascii() and declared.isdigit()
                and (len(declared) > 18 or int(declared) > self.max_body)):
            raise PayloadTooLargeError(f"the body is larger than {self.max_body} bytes; split it into smaller requests")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        chunks, size = [], 0
        # Neither Content-Length nor Transfer-Encoding: the request has no body (RFC 9112 6.3),
        # the server parsed its end with its headers, and `receive` answers at once -- without
        # the timer and task of `wait_for` (a GET's share of the event loop's time shrinks).
        bodyless = declared is None and "transfer-encoding" not in headers
        while True:
            try:
                message = await (receive() if bodyless else
                                 asyncio.wait_for(receive(), max(0.0, deadline - loop.time())))
            except TimeoutError:
                raise RequestTimeoutError(
                    f"the body did not arrive within {self.body_timeout:g} s of the headers; "
                    "the connection is closed") from None
            if message["type"] == "http.disconnect":  # gone before its body was complete
                raise _ClientGone
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise PayloadTooLargeError(
                    f"the body is larger than {self.max_body} bytes; split it into smaller requests"
                )
            if self.buffered + len(chunk) > self.max_buffered:
                raise BusyError(f"the server is holding {self.buffered} bytes of uploads in progress, its limit; "
                                "retry shortly")
            self.buffered += len(chunk)
            held[0] += len(chunk)
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        return b"".join(chunks)


async def _encode(accept_encoding: str | None, headers: list[tuple[bytes, bytes]],
                  payload: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """A JSON answer gzipped when the client accepts it (see weir.http.compression), with
    `Vary: Accept-Encoding` whether it did or not; a large one is compressed on a thread,
    off the event loop (zlib releases the GIL), so /health and ingest answer meanwhile."""
    named = {k.lower(): v.decode("latin-1") for k, v in headers}
    if not compression.worth_compressing(named.get(b"content-type"), named.get(b"content-encoding"), len(payload)):
        return headers, payload
    kept = [(k, v) for k, v in headers if k.lower() not in (b"vary", b"content-length")]
    vary = ", ".join(filter(None, (named.get(b"vary"), "Accept-Encoding")))
    kept.append((b"vary", vary.encode("latin-1")))
    if not compression.accepts_gzip(accept_encoding):
        return kept, payload
    if len(payload) > OFFLOAD_COMPRESSION:
        payload = await asyncio.get_running_loop().run_in_executor(None, compression.gzip, payload)
    else:
        payload = compression.gzip(payload)
    kept.append((b"content-encoding", b"gzip"))
    return kept, payload


def _error_headers(exc: WeirError) -> dict[str, str]:
    if exc.status == 401:
        return {"WWW-Authenticate": 'Bearer realm="weir"'}
    retry = getattr(exc, "retry_after", None)
    return {"Retry-After": str(math.ceil(retry))} if retry is not None else {}


def build_event(scope: dict, headers: dict[str, str], body: bytes) -> dict:
    """An API Gateway REST (v1) proxy event, as API Gateway would send it, except that
    `path` is already percent-decoded (by the ASGI server): the route table's form, which the
    `api` handler makes of API Gateway's still-encoded path (see `weir.lambdas.api`)."""
    query: dict[str, list[str]] = {}
    raw_qs = scope.get("query_string", b"").decode("latin-1")
    if raw_qs:
        from urllib.parse import parse_qsl

        for k, v in parse_qsl(raw_qs, keep_blank_values=True):
            query.setdefault(k, []).append(v)
    try:
        text, is_b64 = body.decode("utf-8"), False
    except UnicodeDecodeError:
        text, is_b64 = base64.b64encode(body).decode(), True
    path = scope["path"]
    now = time.time()
    client = scope.get("client") or ("127.0.0.1", 0)
    return {
        "resource": path,
        "path": path,
        "httpMethod": scope["method"],
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
        "multiValueQueryStringParameters": query or None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": scope["method"],
            "path": path,
            "stage": "local",
            "requestId": str(uuid.uuid4()),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": client[0], "userAgent": headers.get("user-agent", "")},
        },
        "body": text or None,
        "isBase64Encoded": is_b64,
    }


def _error(exc: WeirError) -> bytes:
    import msgspec

    return msgspec.json.encode(ErrorBody(exc.code, exc.message))


async def _send(send, status: int, body: bytes, extra: dict[str, str] | None = None, *, close: bool = False) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    if close:  # uvicorn closes the connection after a response that says so
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
