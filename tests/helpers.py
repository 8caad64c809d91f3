"""Test helpers: a real `weir serve` in a subprocess on a loopback port, and a tiny client."""

from __future__ import annotations

import contextlib
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
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port free at this instant: only a hint, since any process may take it
    before it is bound again (WeirProcess.start copes with that; see also `closed_port`)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses every connection for as long as the block runs.

    A socket bound to it and never listening makes connections to it fail with
    "Connection refused", and keeps every other socket from binding it meanwhile: unlike a
    port from `free_port()`, it cannot turn into some other process's server mid-test.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds the socket listening on 127.0.0.1:`port` (Linux /proc);
    True where /proc cannot tell."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return True
    inodes = set()
    for row in rows:
        fields = row.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
            inodes.add(f"socket:[{inode}]")
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                return True
        except OSError:
            continue
    return False


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

    START_ATTEMPTS = 5

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.extra = extra
        self.proc: subprocess.Popen | None = None
        self._use_port(free_port())

    def _use_port(self, port: int) -> None:
        self.port = port
        self.http = Http(port)
        self.url = f"http://127.0.0.1:{port}"

    def start(self, timeout: float = 60.0) -> float:
        """Start the server; return once *this* process answers /health.

        The port from `free_port()` was free when chosen, but another process (another test
        session on the machine, or an outgoing connection given that ephemeral port) may
        bind it before the server does. Then the server exits with "address already in
        use" -- and until it does, /health may even be answered by the other process. So an
        answer counts only when this child holds the listening socket, and a lost port is
        replaced by a fresh one. `url` and `http` follow the port. The generous timeout is
        for a loaded machine: the wait ends as soon as the server answers.
        """
        t0 = time.perf_counter()
        for _ in range(self.START_ATTEMPTS):
            if self._launch(t0, timeout):
                return time.perf_counter() - t0
            self._use_port(free_port())
        raise RuntimeError(f"weir serve lost its port {self.START_ATTEMPTS} times in a row")

    def _launch(self, t0: float, timeout: float) -> bool:
        """One attempt on the current port: True once up, False when the port was taken."""
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        log_path = self.data_dir.parent / f"serve-{self.port}.log"
        self.log = open(log_path, "ab")
        start_offset = self.log.tell()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "weir", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             *self.extra],
            env=env, stdout=self.log, stderr=subprocess.STDOUT,
        )
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                self.log.close()
                with open(log_path, "rb") as f:
                    f.seek(start_offset)
                    output = f.read().decode(errors="replace")
                if "address already in use" in output.lower():
                    return False
                raise RuntimeError(f"weir serve exited with {self.proc.returncode}:\n{output[-2000:]}")
            try:
                if self.http.get("/health").status == 200 and _listens(self.proc.pid, self.port):
                    return True
            except OSError:
                pass
            time.sleep(0.02)
        self.proc.kill()
        self.proc.wait(30)
        self.log.close()
        raise TimeoutError(f"weir serve did not answer /health within {timeout:.0f} s (log: {log_path})")

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


UI_WEB = ROOT / "src" / "weir" / "ui" / "web"
UI_DIST = ROOT / "src" / "weir" / "ui" / "dist"


def ui_build() -> tuple[Path | None, str]:
    """The web UI's build folder, built first when missing or older than its sources;
    (None, why) when it cannot be: Node.js absent (tests that need the build then skip)."""
    import shutil

    sources = [p for p in (UI_WEB / "src").rglob("*") if p.is_file()]
    sources += [UI_WEB / n for n in ("index.html", "package-lock.json", "vite.config.ts", "tsconfig.json")]
    index = UI_DIST / "index.html"
    fresh = index.is_file() and index.stat().st_mtime >= max(p.stat().st_mtime for p in sources)
    if fresh:
        return UI_DIST, ""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None, "Node.js (node and npm) is not installed: the web UI cannot be built (`make ui` needs Node 20+)"
    installed = UI_WEB / "node_modules" / ".package-lock.json"  # written by npm ci
    if not installed.is_file() or (UI_WEB / "package-lock.json").stat().st_mtime > installed.stat().st_mtime:
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=UI_WEB, check=True, timeout=600)
    subprocess.run([npm, "run", "build"], cwd=UI_WEB, check=True, timeout=600)
    return UI_DIST, ""
