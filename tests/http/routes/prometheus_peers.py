"""Real Prometheus-API peers for the tests: a Prometheus server and vmalert, each its own
process on loopback with its own port and folder, waited on until it answers."""

from __future__ import annotations

import http.server
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import Http, free_port


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (scripts/install_peers.sh installs it)")
    return path


def wait_until(check, what: str, timeout: float = 60.0, every: float = 0.1):
    """Poll `check()` until it returns something truthy; fail after `timeout` seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            got = check()
        except OSError:
            got = None
        if got:
            return got
        time.sleep(every)
    raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")


class Peer:
    """A process on a loopback port; `stop()` ends it (and only it)."""

    proc: subprocess.Popen

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.http = Http(self.port)

    def _spawn(self, args: list[str], ready_path: str) -> None:
        self.log = open(self.folder / "peer.log", "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder)

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"{args[0]} exited: {(self.folder / 'peer.log').read_text()[-2000:]}")
            return self.http.get(ready_path).status == 200

        wait_until(ready, f"{args[0]} answering {ready_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)
        self.log.close()


class PrometheusPeer(Peer):
    """Prometheus (an empty TSDB, nothing scraped): what its API answers for bad parameters."""

    def start(self) -> PrometheusPeer:
        config = self.folder / "prometheus.yml"
        config.write_text("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        self._spawn([need("prometheus"), f"--config.file={config}", f"--storage.tsdb.path={self.folder / 'tsdb'}",
                     f"--web.listen-address=127.0.0.1:{self.port}"], "/-/ready")
        return self


class Receiver:
    """A tiny Alertmanager stand-in on loopback: records the alerts POSTed to /api/v2/alerts."""

    def __init__(self) -> None:
        self.alerts: list[dict] = []
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the stdlib's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path.startswith("/api/v2/alerts"):
                    owner.alerts.extend(json.loads(body or b"[]"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class VmalertPeer(Peer):
    """vmalert evaluating a rules file against a Prometheus-API data source every second."""

    def start(self, datasource: str, rules: str, notifier: str) -> VmalertPeer:
        path = self.folder / "rules.yml"
        path.write_text(rules)
        self._spawn([need("vmalert"), f"-datasource.url={datasource}", f"-rule={path}", f"-notifier.url={notifier}",
                     "-evaluationInterval=1s", f"-httpListenAddr=127.0.0.1:{self.port}", "-loggerLevel=WARN"],
                    "/health")
        return self
