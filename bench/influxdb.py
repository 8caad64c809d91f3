"""InfluxDB 1.x on loopback for side-by-side benchmarks (Debian package `influxdb`).

`available()` says whether `influxd` is installed; `install()` installs it with apt
(`python bench/influxdb.py install`). Nothing here is needed by the test suite.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from workload import free_port, wait_http


def available() -> bool:
    return shutil.which("influxd") is not None


def install() -> None:
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "influxdb"], check=True)


class InfluxServer:
    """influxd with its own config file, folders in a temporary directory (`data_dir`) and
    ports on loopback. `compact_quickly`: snapshot the cache and fully compact shards after
    seconds of quiet instead of 10 minutes and 4 hours (for measuring disk after loading)."""

    def __init__(self, compact_quickly: bool = False) -> None:
        self.compact_quickly = compact_quickly

    def __enter__(self) -> InfluxServer:
        self._tmp = tempfile.TemporaryDirectory(prefix="influx-bench-")
        d = self.data_dir = Path(self._tmp.name)
        self.port = free_port()
        conf = d / "influxdb.conf"
        quick = ('  cache-snapshot-write-cold-duration = "10s"\n  compact-full-write-cold-duration = "30s"\n'
                 if self.compact_quickly else "")
        conf.write_text(
            f'reporting-disabled = true\nbind-address = "127.0.0.1:{free_port()}"\n'
            f'[meta]\n  dir = "{d}/meta"\n'
            f'[data]\n  dir = "{d}/data"\n  wal-dir = "{d}/wal"\n  query-log-enabled = false\n{quick}'
            f'[http]\n  bind-address = "127.0.0.1:{self.port}"\n  log-enabled = false\n'
            f'[monitor]\n  store-enabled = false\n'
        )
        self.proc = subprocess.Popen(["influxd", "-config", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_http(f"http://127.0.0.1:{self.port}/ping")
        q = urllib.parse.urlencode({"q": "CREATE DATABASE bench"}).encode()
        urllib.request.urlopen(f"http://127.0.0.1:{self.port}/query", data=q).read()
        return self

    def count(self) -> int:
        q = urllib.parse.urlencode({"db": "bench", "q": "SELECT count(value) FROM cpu"})
        import json

        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/query?{q}") as r:
            data = json.load(r)
        return int(data["results"][0]["series"][0]["values"][0][1])

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(30)
        time.sleep(0.1)
        self._tmp.cleanup()


if __name__ == "__main__" and sys.argv[1:] == ["install"]:
    install()
