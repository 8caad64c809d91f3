"""The HTTP connection of `weir serve` at its limits, over raw sockets (issue 18, bugs 8 and 11):
what uvicorn's parser refuses is answered with the API's JSON errors, not plain text."""

from __future__ import annotations

import json
import socket

import pytest

from weir.metrics import limits


def exchange(port: int, request: bytes, *, timeout: float = 60.0) -> tuple[int, dict[str, str], bytes]:
    """Send `request` on a fresh connection and read the whole answer (the server closes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(request)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before it has read everything
        data = b""
        while True:
            try:
                got = s.recv(65536)
            except ConnectionResetError:
                break
            if not got:
                break
            data += got
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if headers.get("transfer-encoding") == "chunked":
        body = _dechunk(body)
    return status, headers, body


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size, _, data = data.partition(b"\r\n")
        n = int(size, 16)
        if n == 0:
            break
        out, data = out + data[:n], data[n + 2 :]
    return out


@pytest.mark.parametrize("size", [limits.MAX_URL_BYTES + 1, 70_000, 2_000_000])
def test_a_url_too_long_is_a_json_414(server, size):
    status, headers, body = exchange(server.port, b"GET /metrics?x=" + b"a" * size + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status == 414, (status, body[:200])
    assert headers["content-type"] == "application/json"
    error = json.loads(body)
    assert error["error"] == "uri_too_long" and str(limits.MAX_URL_BYTES) in error["message"]


def test_a_url_at_the_limit_is_served(server):
    path = b"/metrics/x/series?x="
    url = path + b"a" * (limits.MAX_URL_BYTES - len(path))
    status, _, body = exchange(server.port, b"GET " + url + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status == 400 and json.loads(body)["message"].startswith("x: unknown query parameter"), body[:200]


def test_a_malformed_request_is_a_json_400(server):
    status, headers, body = exchange(server.port, b"GET /metrics HTTP/1.1\r\nHost x\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/json"
    assert json.loads(body)["error"] == "invalid_request"
