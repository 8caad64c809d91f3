"""The local HTTP front: uvicorn (httptools) serving the local gateway over a route table.
`weir serve` (weir.commands.serve) builds the services and calls `serve_http`."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from weir.http.gateway import Handler, LocalGateway


def serve_http(resolve: Handler, *, host: str, port: int,
               on_shutdown: Callable[[], None], access_log: bool = False) -> None:
    """Serve until SIGINT/SIGTERM; `on_shutdown` runs at the lifespan shutdown."""
    gateway = LocalGateway(resolve, on_shutdown=on_shutdown)
    config = uvicorn.Config(
        gateway,
        host=host,
        port=port,
        lifespan="on",
        access_log=access_log,
        log_level="info",
        http="httptools",
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # bound to loopback by default; no proxy to trust
        server_header=False,
    )
    uvicorn.Server(config).run()
