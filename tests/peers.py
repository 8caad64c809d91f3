"""Real peers for the tests: Debian's `prometheus` (2.42) and `vmagent` (1.79), each in its own
folder on its own loopback port, started and waited for (never slept for)."""

from __future__ import annotations

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import free_port


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        pytest.skip(f"{binary} is not installed (Debian: apt-get install prometheus victoria-metrics)")
    return path


class Peer:
    """A peer process on a free loopback port; a port lost to another process is replaced."""

    def __init__(self, folder: Path, argv: Callable[[int], list[str]], ready_path: str) -> None:
        self.folder = folder
        self.argv = argv
        self.ready_path = ready_path
        self.proc: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> Peer:
        for _ in range(5):
            self.port = free_port()
            log = self.folder / f"peer-{self.port}.log"
            with open(log, "wb") as out:
                self.proc = subprocess.Popen(self.argv(self.port), stdout=out, stderr=subprocess.STDOUT,
                                             cwd=self.folder)
            if self._wait(log, timeout):
                return self
        raise RuntimeError(f"{self.argv(0)[0]} lost its port five times in a row")

    def _wait(self, log: Path, timeout: float) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                text = log.read_text(errors="replace")
                if "address already in use" in text.lower():
                    return False
                raise RuntimeError(f"{self.argv(0)[0]} exited with {self.proc.returncode}:\n{text[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2) as r:
                    if r.status == 200:
                        return True
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.argv(0)[0]} was not ready within {timeout:.0f} s; log: {log.read_text()[-3000:]}")

    def log(self) -> str:
        return (self.folder / f"peer-{self.port}.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)


def prometheus(folder: Path, config: str, *flags: str) -> Peer:
    binary = need("prometheus")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prometheus.yml").write_text(config)
    return Peer(folder, lambda port: [
        binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}", *flags,
    ], "/-/ready").start()


def vmagent(folder: Path, scrape_config: str, write_url: str, *flags: str) -> Peer:
    binary = need("vmagent")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "scrape.yml").write_text(scrape_config)
    return Peer(folder, lambda port: [
        binary, f"-promscrape.config={folder / 'scrape.yml'}", f"-remoteWrite.url={write_url}",
        f"-remoteWrite.tmpDataPath={folder / 'queue'}", f"-httpListenAddr=127.0.0.1:{port}", *flags,
    ], "/health").start()


def wait_for(what: str, check: Callable[[], object], timeout: float = 120.0):
    """Poll `check` until it returns something truthy; generous, for a loaded machine."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.25)
    raise TimeoutError(f"{what}: not within {timeout:.0f} s (last: {last!r})")
