"""The local HTTP front: uvicorn (httptools) serving the local gateway over a route table.
`weir serve` (weir.commands.serve) builds the services and calls `serve_http`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

from weir.http.gateway import DEFAULT_BODY_TIMEOUT, Handler, LocalGateway, Precheck
from weir.http.protocol import DEFAULT_HEAD_TIMEOUT, protocol_class
from weir.http.workpool import DEFAULT_QUEUE, DEFAULT_WORKERS, WorkPool

SWITCH_INTERVAL = 0.001


@dataclass(frozen=True)
class ServerLimits:
    """What bounds the work and the memory of `weir serve`'s connections (README, "Limits")."""

    query_workers: int = DEFAULT_WORKERS  # heavy reads run on these threads (weir.http.workpool)
    query_queue: int = DEFAULT_QUEUE  # and at most this many wait; beyond, a 503 with Retry-After
    header_timeout: float = DEFAULT_HEAD_TIMEOUT  # request line and headers (weir.http.protocol)
    body_timeout: float = DEFAULT_BODY_TIMEOUT  # the body, after the headers (weir.http.gateway)
    keep_alive_timeout: int = 5  # an idle connection between requests


def serve_http(resolve: Handler, *, host: str, port: int, on_shutdown: Callable[[], None],
               access_log: bool = False, limits: ServerLimits = ServerLimits(),
               precheck: Precheck | None = None) -> None:
    """Serve until SIGINT/SIGTERM; `on_shutdown` runs at the lifespan shutdown. `precheck`
    (the API-key check) runs before a request's body is read."""
    # The event loop shares the GIL with the query workers, the store's writer and the alert
    # threads. At CPython's default 5 ms switch interval a request on the loop waited up to
    # 5 ms per thread for every step it took; 1 ms while queries run keeps /health and ingest
    # answering (bench/soak.py --mix). With no query running the default stays: 1 ms then only
    # slowed ingest (weir.http.workpool.WorkPool).
    pool = WorkPool(limits.query_workers, limits.query_queue, busy_switch_interval=SWITCH_INTERVAL)
    gateway = LocalGateway(
        resolve, on_shutdown=on_shutdown, pool=pool,
        precheck=precheck, body_timeout=limits.body_timeout,
    )
    config = uvicorn.Config(
        gateway,
        host=host,
        port=port,
        lifespan="on",
        access_log=access_log,
        log_level="info",
        # httptools, with JSON errors and the limits of weir.http.protocol
        http=protocol_class(head_timeout=limits.header_timeout, linger_timeout=limits.body_timeout),
        timeout_keep_alive=limits.keep_alive_timeout,  # idle connections between requests are closed
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # bound to loopback by default; no proxy to trust
        server_header=False,
    )
    uvicorn.Server(config).run()
