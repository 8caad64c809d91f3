"""Heavy reads run on a bounded worker pool, off the event loop (issue 18, bug 2), over a real
`weir serve --backend aws`.

The queries are held deterministically, not made slow: a proxy in front of the DynamoDB
emulator holds every `Query` on the metrics table (the first call of every metric query)
until the test releases it -- a hanging backend, the failure the pool is there for. While
they hang, /health and ingest (BatchWriteItem, UpdateItem: not held) must answer; before
the pool, the first held query froze the event loop and both waited.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.helpers import Http, WeirProcess

WAIT = 60.0  # generous: a loaded CI runner


class HoldingProxy:
    """An HTTP proxy to the emulator that holds DynamoDB `Query` calls on one table while
    `holding` is set; `held` counts those waiting."""

    def __init__(self, upstream: str, table: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.table = table
        self.gate = threading.Event()
        self.gate.set()
        self.held = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - the http.server interface
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                if proxy._holds(self.headers.get("x-amz-target", ""), body):
                    with proxy._lock:
                        proxy.held += 1
                    try:
                        proxy.gate.wait(WAIT)
                    finally:
                        with proxy._lock:
                            proxy.held -= 1
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=WAIT)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "host")}
                    conn.request("POST", self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    data = resp.read()
                finally:
                    conn.close()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "date", "server"):
                        self.send_header(k, v)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _holds(self, target: str, body: bytes) -> bool:
        if self.gate.is_set() or not target.endswith(".Query"):
            return False
        return json.loads(body or b"{}").get("TableName") == self.table

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    def wait_held(self, n: int) -> None:
        deadline = time.monotonic() + WAIT
        while self.held < n:
            assert time.monotonic() < deadline, f"{self.held} of {n} queries reached the backend"
            time.sleep(0.01)

    def close(self) -> None:
        self.gate.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held_server(aws_env, tmp_path, request):
    workers, queue = request.param
    suffix = uuid.uuid4().hex[:8]
    metrics = f"pool-m-{suffix}"
    proxy = HoldingProxy(aws_env, metrics)
    proc = WeirProcess(tmp_path / "unused", "--backend", "aws", "--endpoint-url", proxy.url, "--create-tables",
                       "--metrics-table", metrics, "--series-table", f"pool-s-{suffix}",
                       "--query-workers", str(workers), "--query-queue", str(queue))
    proc.start(timeout=WAIT)
    now = int(time.time()) - 60
    r = proc.http.post("/metrics", {"metrics": [{"name": "heavy", "value": float(i), "timestamp": now,
                                                  "dimensions": {"h": str(i)}} for i in range(10)]})
    assert r.status == 200, r
    yield proc, proxy
    proxy.close()
    proc.stop()


def _query(api: Http):
    return api.get("/metrics/heavy", params={"start": "-10m", "stat": "count"})


@pytest.mark.parametrize("held_server", [(2, 18)], indirect=True)
def test_health_and_ingest_answer_while_20_heavy_queries_run(held_server):
    proc, proxy = held_server
    api = proc.http
    proxy.hold()
    with ThreadPoolExecutor(20) as clients:
        queries = [clients.submit(_query, api) for _ in range(20)]
        proxy.wait_held(2)  # both workers are inside a query that cannot finish yet
        health = api.get("/health")
        ingest = api.post("/metrics", {"name": "during", "value": 1.0})
        assert health.status == 200, health
        assert ingest.status == 200 and ingest.json()["accepted"] == 1, ingest
        assert not any(q.done() for q in queries), "a held query was answered"
        proxy.release()
        replies = [q.result(timeout=WAIT) for q in queries]
    assert [r.status for r in replies] == [200] * 20, [r for r in replies if r.status != 200][:3]
    assert all(sum(p["count"] for g in r.json()["groups"] for p in g["datapoints"]) == 10 for r in replies)


@pytest.mark.parametrize("held_server", [(1, 1)], indirect=True)
def test_a_full_pool_answers_503_with_retry_after(held_server):
    proc, proxy = held_server
    api = proc.http
    proxy.hold()
    with ThreadPoolExecutor(5) as clients:
        first = clients.submit(_query, api)
        proxy.wait_held(1)  # the one worker is busy
        more = [clients.submit(_query, api) for _ in range(4)]  # one waits in the queue, three find it full
        deadline = time.monotonic() + WAIT
        while sum(f.done() for f in more) < 3:  # refusals are answered while the worker is held
            assert time.monotonic() < deadline, [f.done() for f in more]
            time.sleep(0.01)
        refused = [f.result() for f in more if f.done()]
        assert api.get("/health").status == 200
        proxy.release()
        replies = [first.result(timeout=WAIT)] + [f.result(timeout=WAIT) for f in more]
    assert [r.status for r in refused] == [503] * 3, refused
    for r in refused:
        assert r.json()["error"] == "busy" and "quer" in r.json()["message"]
        assert int(r.headers["retry-after"]) >= 1
    assert sorted(r.status for r in replies) == [200, 200, 503, 503, 503]


def test_every_read_route_runs_on_the_pool(tmp_path):
    """A general property, not a list to keep up: every GET route except the cheap ones is
    heavy, so a route added later (PromQL's /api/v1/*) cannot block the event loop by omission."""
    from weir.config import Settings
    from weir.http.app import build_app
    from weir.http.workpool import LIGHT_ROUTES, is_offloaded
    from weir.wiring.serve import build_serve

    built = build_serve(Settings(data_dir=tmp_path / "data", watch_files=False, exports=False))
    try:
        app = build_app(built.api)
    finally:
        built.close()
    routes = [r for r in app._static_routes + app._dynamic_routes if r.method == "GET"]
    assert len(routes) > 5
    on_loop = sorted(r.path for r in routes if not is_offloaded(r.func))
    assert on_loop == sorted(LIGHT_ROUTES), "only routes answered from memory may run on the event loop"
    from weir.auth import READ_POSTS  # PromQL's queries by form POST are reads too

    posts = {r.path for r in app._static_routes + app._dynamic_routes if r.method == "POST" and is_offloaded(r.func)}
    assert READ_POSTS <= posts


def test_the_short_switch_interval_holds_only_while_a_job_is_admitted():
    """The pool sets the busy switch interval while a query runs and puts back the one in
    force before when the last ends (so ingest alone runs at the default)."""
    import asyncio
    import sys

    from weir.http.workpool import WorkPool

    before = sys.getswitchinterval()
    pool = WorkPool(2, 0, busy_switch_interval=before / 4)
    release = threading.Event()
    seen: list[float] = []

    def job() -> None:
        seen.append(sys.getswitchinterval())
        assert release.wait(30)

    async def main() -> None:
        tasks = [asyncio.ensure_future(pool.run(job)) for _ in range(2)]
        while len(seen) < 2:  # both running, polled on the loop
            await asyncio.sleep(0.001)
        release.set()
        await asyncio.gather(*tasks)

    try:
        asyncio.run(main())
        assert seen == [before / 4] * 2
        assert sys.getswitchinterval() == before
    finally:
        pool.close()
        sys.setswitchinterval(before)
