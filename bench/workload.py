"""The standard workload of the design notes, shared by the benchmarks.

4 keep-alive connections send 300 batches of 1,000 points over 1,000 series
(`cpu` with host=h0..h999, region=r0..r6): batch i carries one point per series at
time `base + 10 s * i`.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

SERIES = 1_000
BATCHES = 300
CONNECTIONS = 4
ROOT = Path(__file__).resolve().parent.parent


def points(batches: int = BATCHES, series: int = SERIES, base: int | None = None):
    """Yield one list of (host, region, ts_seconds, value) per batch."""
    rnd = random.Random(42)
    base = base if base is not None else int(time.time()) - batches * 10
    for i in range(batches):
        ts = base + 10 * i
        yield [(f"h{h}", f"r{h % 7}", ts, round(rnd.uniform(0, 100), 3)) for h in range(series)]


def json_bodies(batches: int = BATCHES) -> list[bytes]:
    return [
        json.dumps(
            {"metrics": [{"name": "cpu", "value": v, "timestamp": ts, "dimensions": {"host": h, "region": r}}
                         for h, r, ts, v in batch]}
        ).encode()
        for batch in points(batches)
    ]


def line_bodies(batches: int = BATCHES) -> list[bytes]:
    return [
        "\n".join(f"cpu,host={h},region={r} value={v} {ts}" for h, r, ts, v in batch).encode()
        for batch in points(batches)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def moto_server():
    """A moto server on a free loopback port, its URL yielded, with throwaway credentials and
    us-east-1 set for every client the benchmark makes (an AWS_ENDPOINT_URL is ignored)."""
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` so far (Linux /proc): a cost per point that a
    busy machine changes less than it changes points per second."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid: int, quiet: float = 2.0, limit: float = 180.0) -> float:
    """Until process `pid` has used under 5% of a core for `quiet` seconds (its background
    work after a restart, such as re-exporting the hours a load changed, done); returns the
    seconds waited. A server left running would be past that when asked."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        before = cpu_seconds(pid)
        time.sleep(quiet)
        if cpu_seconds(pid) - before < 0.05 * quiet:
            break
    return time.monotonic() - t0


def wait_http(url: str, timeout: float = 30.0) -> float:
    """Seconds until `url` answers."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status < 500:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def send_all(port: int, path: str, bodies: list[bytes], content_type: str, connections: int = CONNECTIONS,
             expect=(200, 204), headers: dict[str, str] | None = None) -> float:
    """Send the bodies over `connections` keep-alive connections; returns elapsed seconds."""
    errors: list[str] = []

    def worker(mine: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for body in mine:
            conn.request("POST", path, body=body, headers={"Content-Type": content_type, **(headers or {})})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status not in expect:
                errors.append(f"{resp.status} {data[:200]!r}")
                return
        conn.close()

    threads = [threading.Thread(target=worker, args=(bodies[i::connections],)) for i in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return elapsed


def weir_compact(data_dir: str) -> float:
    """`weir migrate` on a stopped server's folder: finalise every closed hour and VACUUM, as
    a server left running would have; returns seconds."""
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "weir", "migrate", "--data-dir", data_dir], check=True,
                   env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


class WeirServer:
    """`weir serve` in a subprocess on a free loopback port, in a temporary data folder."""

    def __init__(self, data_dir: str | None = None, src: Path | None = None, extra: tuple[str, ...] = ()) -> None:
        self._tmp = None if data_dir else tempfile.TemporaryDirectory(prefix="weir-bench-")
        self.extra = extra  # more `weir serve` options
        self.data_dir = data_dir or self._tmp.name
        self.src = src or ROOT / "src"  # another tree's src/ serves another revision (bench/baseline.py)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WeirServer:
        env = {**os.environ, "PYTHONPATH": str(self.src)}
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "weir", "serve", "--port", str(self.port), "--data-dir", self.data_dir,
             *self.extra],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_http(self.url + "/health")
        self.startup_seconds = time.perf_counter() - t0
        return self

    def __exit__(self, *exc) -> None:
        self.proc.terminate()
        self.proc.wait(600)  # a large head is flushed on the way out
        if self._tmp:
            self._tmp.cleanup()


def otlp_bodies(batches: int = BATCHES) -> list[bytes]:
    """The same points as OTLP protobuf: one gauge `cpu`, one data point per series per batch."""
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc

    out = []
    for batch in points(batches):
        req = svc.ExportMetricsServiceRequest()
        rm = req.resource_metrics.add()
        kv = rm.resource.attributes.add()
        kv.key, kv.value.string_value = "service.name", "bench"
        metric = rm.scope_metrics.add().metrics.add()
        metric.name = "cpu"
        dps = metric.gauge.data_points
        for h, r, ts, v in batch:
            dp = dps.add()
            dp.time_unix_nano = ts * 1_000_000_000
            dp.as_double = v
            for key, val in (("host", h), ("region", r)):
                a = dp.attributes.add()
                a.key, a.value.string_value = key, val
        out.append(req.SerializeToString())
    return out


def otlp_json_bodies(batches: int = BATCHES) -> list[bytes]:
    """The OTLP bodies as compact OTLP/JSON, as the JavaScript exporters send them."""
    from google.protobuf import json_format
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc

    return [
        json.dumps(json_format.MessageToDict(svc.ExportMetricsServiceRequest.FromString(b)),
                   separators=(",", ":")).encode()
        for b in otlp_bodies(batches)
    ]


# -- the read benchmarks' dataset (docs/architecture.md "Reads at scale") ------------------

READ_HOSTS = 1_000
READ_REGIONS = 10


def cpu_value(host: int, ts: int, rnd: random.Random) -> float:
    """A CPU percentage with one decimal: a daily wave per host (its own phase and level)
    plus noise, clipped to 0..100."""
    import math

    level = 20 + (host * 37) % 50
    phase = (host * 2654435761 % 86400)
    wave = 15 * math.sin(2 * math.pi * (ts + phase) / 86400)
    return round(min(100.0, max(0.0, level + wave + rnd.gauss(0, 2))), 1)


def cpu_batches(end: int, seconds: int, step: int = 10, hosts: int = READ_HOSTS, metric: str = "cpu"):
    """Yield lists of (metric, host, region, ts_seconds, value), one instant of every host per
    list, for `seconds` up to `end` (exclusive) every `step` s. Deterministic."""
    rnd = random.Random(1234)
    for ts in range(end - seconds, end, step):
        yield [(metric, f"h{h}", f"r{h % READ_REGIONS}", ts, cpu_value(h, ts, rnd)) for h in range(hosts)]


def cpu_line_bodies(end: int, seconds: int, step: int = 10, hosts: int = READ_HOSTS, metric: str = "cpu",
                    per_body: int = 10_000):
    """The dataset as line-protocol bodies (seconds precision), `per_body` points each."""
    lines: list[str] = []
    for batch in cpu_batches(end, seconds, step, hosts, metric):
        lines += [f"{m},host={h},region={r} value={v} {ts}" for m, h, r, ts, v in batch]
        while len(lines) >= per_body:
            yield "\n".join(lines[:per_body]).encode()
            lines = lines[per_body:]
    if lines:
        yield "\n".join(lines).encode()
