"""Test helpers: a real `weir serve` in a subprocess on a loopback port, and a tiny client."""

from __future__ import annotations

import gzip as _gzip
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Reply:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Reply {self.status} {self.body[:300]!r}>"


class Http:
    """A tiny HTTP(S) client for tests: a loopback port, or a whole URL (a stage path
    included) with an optional API key sent as `x-api-key`, the header API Gateway checks."""

    def __init__(self, port: int | None = None, *, url: str | None = None, api_key: str | None = None) -> None:
        parts = urllib.parse.urlsplit(url or f"http://127.0.0.1:{port}")
        self.https = parts.scheme == "https"
        self.host, self.port, self.prefix = parts.hostname or "127.0.0.1", parts.port, parts.path.rstrip("/")
        self.key = api_key

    def request(self, method: str, path: str, body: bytes | str | None = None, *, params: dict | None = None,
                headers: dict | None = None, json_body=None, gzip: bool = False, key: bool = True) -> Reply:
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body)
            hdrs.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if gzip and body is not None:
            body = _gzip.compress(body)
            hdrs["Content-Encoding"] = "gzip"
        if key and self.key:
            hdrs["x-api-key"] = self.key
        target = self.prefix + path + ("?" + urllib.parse.urlencode(params) if params else "")
        conn_cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = conn_cls(self.host, self.port, timeout=60)
        try:
            conn.request(method, target, body=body, headers=hdrs)
            resp = conn.getresponse()
            return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def get(self, path: str, **kw) -> Reply:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body=None, **kw) -> Reply:
        return self.request("POST", path, json_body=json_body, **kw)


class WeirProcess:
    """`python -m weir serve` on a free port; start, stop (gracefully or with SIGKILL), restart."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.port = free_port()
        self.http = Http(self.port)
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> float:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        t0 = time.perf_counter()
        self.log = open(self.data_dir.parent / f"serve-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "weir", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             *self.extra],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weir serve exited with {self.proc.returncode}")
            try:
                if self.http.get("/health").status == 200:
                    return time.perf_counter() - t0
            except OSError:
                time.sleep(0.02)
        raise TimeoutError("weir serve did not answer /health")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.log.close()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(30)
        self.log.close()
