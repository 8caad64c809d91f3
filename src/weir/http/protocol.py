"""The HTTP/1.1 connection of `weir serve`: uvicorn's httptools protocol, with the limits and
the error bodies it lacks.

uvicorn answers what its parser refuses with a plain-text 400 ("Invalid HTTP request
received.", for a URL over 64 KB too), while every other error of the API is JSON. Here those
answers are the API's `ErrorBody`, with the status that says what was wrong: 414 for a URL
over `limits.MAX_URL_BYTES`, 431 for a request line and headers over `limits.MAX_HEAD_BYTES`,
400 for a request that is not HTTP.

uvicorn also has no header timeout: its keep-alive timer runs only between requests, so a
connection that never sends a byte, or sends its headers a byte a minute, was kept for ever
(and headers had no size limit at all). Here the request line and headers must arrive within
`head_timeout` of the connection or of the request's first byte, else a 408 and the close.
The body's own deadline is the gateway's (`LocalGateway.body_timeout`), as only it reads it.

Only the hooks uvicorn's protocol calls on itself are overridden; parsing, flow control and
keep-alive stay uvicorn's.
"""

from __future__ import annotations

import http
from asyncio import TimerHandle

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from weir.metrics import limits
from weir.metrics.model import ErrorBody


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; httptools reports it as a parser error."""


DEFAULT_HEAD_TIMEOUT = 10.0


DEFAULT_LINGER_TIMEOUT = 60.0


def protocol_class(head_timeout: float = DEFAULT_HEAD_TIMEOUT,
                   linger_timeout: float = DEFAULT_LINGER_TIMEOUT) -> type[WeirHttpProtocol]:
    """The protocol with these settings (uvicorn builds one per connection from the class)."""
    return type("WeirHttpProtocol", (WeirHttpProtocol,),
                {"head_timeout": head_timeout, "linger_timeout": linger_timeout})


class WeirHttpProtocol(HttpToolsProtocol):
    max_url_bytes = limits.MAX_URL_BYTES
    max_head_bytes = limits.MAX_HEAD_BYTES
    head_timeout = DEFAULT_HEAD_TIMEOUT
    linger_timeout = DEFAULT_LINGER_TIMEOUT

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._refusal: tuple[int, str, str] | None = None
        self._awaiting_head = True  # from the connection, or a request's first byte, to its last header
        self._head_bytes = 0  # bytes received while the head is incomplete
        self._head_size = 0  # the parsed URL and headers of the current request
        self._head_timer: TimerHandle | None = None
        self._body_done = True
        self._linger_timer: TimerHandle | None = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._cancel_linger_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        counting = self._awaiting_head  # bytes that arrive while the head is incomplete are head bytes
        super().data_received(data)
        if counting and self._awaiting_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:  # one header still growing, not yet parsed
                self.send_error(431, "headers_too_large", self._too_large())

    def _too_large(self) -> str:
        return (f"the request line and headers are longer than {self.max_head_bytes} bytes; "
                "send fewer or shorter headers")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._body_done = False
        self._awaiting_head = True
        if self._head_timer is None:
            self._arm_head_timer()

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_bytes = 0
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._body_done = True
        self._cancel_linger_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        """Answered before the body was all read (a refused key, a body too large): uvicorn
        discards the rest as it arrives, so a client that sends it all before reading still
        gets the answer; a client that never sends it is closed after `linger_timeout`."""
        super().on_response_complete()
        if not self._body_done and not self.transport.is_closing() and self._linger_timer is None:
            self._linger_timer = self.loop.call_later(self.linger_timeout, self._linger_expired)

    def _linger_expired(self) -> None:
        self._linger_timer = None
        if not self._body_done:
            self.transport.close()

    def _cancel_linger_timer(self) -> None:
        if self._linger_timer is not None:
            self._linger_timer.cancel()
            self._linger_timer = None

    def _arm_head_timer(self) -> None:
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self._awaiting_head and not self.transport.is_closing():
            self.send_error(408, "request_timeout", (
                f"no complete request line and headers within {self.head_timeout:g} s; the connection is closed"))

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_bytes:
            self._refusal = (414, "uri_too_long", (
                f"the URL is longer than {self.max_url_bytes} bytes; send fewer or shorter query "
                "parameters (narrow the query, or split it)"))
            raise _Refused
        self._head_size = len(self.url)

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.max_head_bytes:
            self._refusal = (431, "headers_too_large", self._too_large())
            raise _Refused

    def send_400_response(self, msg: str) -> None:
        """What uvicorn calls when the parser fails: the refusal a callback chose, else a 400."""
        status, code, message = self._refusal or (
            400, "invalid_request", "the request is not valid HTTP/1.1 (a malformed request line or header)")
        self.send_error(status, code, message)

    def send_error(self, status: int, code: str, message: str, extra: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        """Answer with a JSON error and close the connection (nothing more of it is read)."""
        body = msgspec.json.encode(ErrorBody(code, message))
        head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}\r\n".encode()]
        for name, value in (*self.server_state.default_headers, *extra):
            head += [name, b": ", value, b"\r\n"]
        head += [b"content-type: application/json\r\n", b"content-length: ", str(len(body)).encode(), b"\r\n",
                 b"connection: close\r\n\r\n"]
        self.transport.write(b"".join(head) + body)
        self.transport.close()
