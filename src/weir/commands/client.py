"""A small HTTP client for the CLI (stdlib only), turning API errors into readable ones."""

from __future__ import annotations

import http.client
import json
import urllib.parse

import click

from weir import config
from weir.commands.output import fail


class ApiError(Exception):
    """An answer of 400 or more, or (status 0) no answer at all: the server was not reached."""

    def __init__(self, status: int, message: str, data: dict | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}" if status else message)
        self.status = status
        self.message = message
        self.data = data or {}


class Client:
    def __init__(self, url: str, timeout: float = 60.0, api_key: str | None = None) -> None:
        # x-api-key: the header API Gateway checks, so one client works against `weir serve` and the stack.
        self._auth = {"x-api-key": api_key} if api_key else {}
        self.url = url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        conn_cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
        self._prefix = parts.path.rstrip("/")

    def request(self, method: str, path: str, body: bytes | None = None, params: dict | None = None, *,
                content_type: str = "application/json") -> dict:
        target = self._prefix + path
        if params:
            target += "?" + urllib.parse.urlencode(params)
        headers = {"Content-Type": content_type, **self._auth} if body is not None else dict(self._auth)
        try:
            self._conn.request(method, target, body=body, headers=headers)
            resp = self._conn.getresponse()
            raw = resp.read()
        except (ConnectionError, OSError) as exc:
            self._conn.close()
            raise ApiError(0, f"cannot reach {self.url} ({_reason(exc)}): is `weir serve` running there? "
                              f"Start it, or give the server's address with --url or {config.ENV_URL}") from None
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            data = {"message": raw[:200].decode("utf-8", "replace")}
        if resp.status >= 400:
            if not isinstance(data, dict):
                data = {"message": str(data)}
            raise ApiError(resp.status, data.get("message", ""), data)
        return data

    def close(self) -> None:
        self._conn.close()

    def call(self, method: str, path: str, body: dict | None = None, params: dict | None = None) -> dict:
        """`request` with a JSON body; an error is printed (escaped) and the command exits 1."""
        try:
            return self.request(method, path, json.dumps(body).encode() if body is not None else None, params)
        except ApiError as exc:
            fail(exc.message or str(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def url_option(f):
    """--url and --api-key, for the commands that call a running server with a key."""
    f = click.option(
        "--api-key", envvar=config.ENV_API_KEY, default=None,
        help=f"API key, when the server has keys (env {config.ENV_API_KEY}).",
    )(f)
    return click.option(
        "--url",
        envvar=config.ENV_URL,
        default=f"http://{config.DEFAULT_HOST}:{config.DEFAULT_PORT}",
        show_default=True,
        help=f"Weir server (env {config.ENV_URL}).",
    )(f)
