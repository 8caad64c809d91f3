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


# -- slow and stalled clients (bug 8) ------------------------------------------------------

WAIT = 60.0  # how long a test waits for the server to act: generous, a loaded CI runner


def _answer(s: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by WAIT)."""
    s.settimeout(WAIT)
    data = b""
    while True:
        try:
            got = s.recv(65536)
        except ConnectionResetError:
            break
        if not got:
            return data
        data += got
    return data


def _status(data: bytes) -> int:
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0


def _error_code(data: bytes) -> str:
    return json.loads(data.partition(b"\r\n\r\n")[2])["error"]


def _stalled_upload(port: int, path: str = "/metrics", *, sent: int = 64 * 1024) -> socket.socket:
    """A POST that declares a 6 MB body, sends `sent` bytes of it and stalls."""
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              f"Content-Length: {limits.MAX_BODY_BYTES}\r\n\r\n".encode() + b" " * sent)
    return s


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    from click.testing import CliRunner

    from tests.helpers import WeirProcess
    from weir.cli import main

    data = tmp_path_factory.mktemp("slow") / "data"
    assert CliRunner().invoke(main, ["keys", "add", "writer", "--data-dir", str(data)]).exit_code == 0
    proc = WeirProcess(data, "--header-timeout", "2", "--body-timeout", "2", "--keep-alive-timeout", "2")
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def open_server(tmp_path_factory):
    from tests.helpers import WeirProcess

    proc = WeirProcess(tmp_path_factory.mktemp("slow-open") / "data",
                       "--header-timeout", "2", "--body-timeout", "2", "--keep-alive-timeout", "2")
    proc.start()
    yield proc
    proc.stop()


def test_an_upload_without_a_key_is_refused_before_its_body_is_read(keyed_server):
    """50 stalled 6 MB uploads without a key held +288 MB: the body was buffered before the
    key was checked. Now the 401 comes at once, while the client still holds its body, and the
    connection is closed when the rest of the body does not follow."""
    sockets = [_stalled_upload(keyed_server.port) for _ in range(20)]
    try:
        for s in sockets:
            data = _answer(s)  # up to the close
            assert _status(data) == 401, data[:300]
    finally:
        for s in sockets:
            s.close()


def test_a_stalled_body_is_cut_off(open_server):
    s = _stalled_upload(open_server.port)
    try:
        data = _answer(s)  # the server answers and closes; before, it waited for ever
    finally:
        s.close()
    assert _status(data) == 408 and _error_code(data) == "request_timeout", data[:300]


@pytest.mark.parametrize("sent", [b"", b"GET /metrics HTTP/1.1\r\nHost: x\r\n"])
def test_a_connection_that_never_completes_its_headers_is_cut_off(open_server, sent):
    with socket.create_connection(("127.0.0.1", open_server.port), timeout=WAIT) as s:
        s.sendall(sent)
        data = _answer(s)
    assert _status(data) == 408 and _error_code(data) == "request_timeout", data[:300]


def test_an_idle_keep_alive_connection_is_closed(open_server):
    with socket.create_connection(("127.0.0.1", open_server.port), timeout=WAIT) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        data = _answer(s)  # the answer, then the close after the keep-alive timeout
    assert _status(data) == 200 and b'"status":"ok"' in data


def test_headers_over_the_limit_are_a_json_431(open_server):
    header = b"X-Big: " + b"a" * (limits.MAX_HEAD_BYTES + 1) + b"\r\n"
    status, headers, body = exchange(open_server.port, b"GET /health HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n")
    assert status == 431 and json.loads(body)["error"] == "headers_too_large", body[:200]


def test_a_body_cut_short_by_a_disconnect_is_not_stored(open_server):
    """Line protocol cut after complete lines is still valid: the server must not store what a
    client that went away had sent so far (nobody was told it was)."""
    lines = b"".join(b"cut_short,p=%d value=1\n" % i for i in range(50))
    with socket.create_connection(("127.0.0.1", open_server.port), timeout=WAIT) as s:
        s.sendall(b"POST /write HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (len(lines) * 10) + lines)
    # a later request, on another connection
    r = open_server.http.request("POST", "/write", body="cut_after,p=1 value=1\n")
    assert r.status == 204, r
    assert open_server.http.get("/metrics/cut_after/series").status == 200
    assert open_server.http.get("/metrics/cut_short/series").status == 404
