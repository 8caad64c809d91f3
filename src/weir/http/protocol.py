"""The HTTP/1.1 connection of `weir serve`: uvicorn's httptools protocol, with the limits and
the error bodies it lacks.

uvicorn answers what its parser refuses with a plain-text 400 ("Invalid HTTP request
received.", for a URL over 64 KB too), while every other error of the API is JSON. Here those
answers are the API's `ErrorBody`, with the status that says what was wrong: 414 for a URL
over `limits.MAX_URL_BYTES`, 400 for a request that is not HTTP.

Only the hooks uvicorn's protocol calls on itself are overridden (`on_url`,
`send_400_response`); parsing, flow control and keep-alive stay uvicorn's.
"""

from __future__ import annotations

import http

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from weir.metrics import limits
from weir.metrics.model import ErrorBody


class _Refused(Exception):
    """Raised from a parser callback to stop parsing; httptools reports it as a parser error."""


class WeirHttpProtocol(HttpToolsProtocol):
    max_url_bytes = limits.MAX_URL_BYTES

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._refusal: tuple[int, str, str] | None = None

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        if len(self.url) > self.max_url_bytes:
            self._refusal = (414, "uri_too_long", (
                f"the URL is longer than {self.max_url_bytes} bytes; send fewer or shorter query "
                "parameters (narrow the query, or split it)"))
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
