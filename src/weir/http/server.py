"""`weir serve`: the local HTTP front (uvicorn + the local gateway) over the services of the
configured backend (SQLite, or DynamoDB real or emulated)."""

from __future__ import annotations

import uvicorn

from weir.config import Settings
from weir.http.gateway import LocalGateway
from weir.http.protocol import protocol_class
from weir.http.routes import authenticate, build_app
from weir.http.workpool import WorkPool
from weir.wiring import build


def serve(settings: Settings, *, access_log: bool = False) -> None:
    """Build the services first, so a bad data folder fails before the port is bound,
    then serve until SIGINT/SIGTERM; closing the services flushes the store."""
    services = build(settings)
    services.start_background()
    try:
        pool = WorkPool(settings.query_workers, settings.query_queue)
        gateway = LocalGateway(
            build_app(services).resolve, on_shutdown=services.close, pool=pool,
            # the API key is checked before the body is read: a refused upload is never buffered
            precheck=authenticate(services) if services.auth is not None else None,
            body_timeout=settings.body_timeout,
        )
        config = uvicorn.Config(
            gateway,
            host=settings.host,
            port=settings.port,
            lifespan="on",
            access_log=access_log,
            log_level="info",
            # httptools, with JSON errors and the limits of weir.http.protocol
            http=protocol_class(head_timeout=settings.header_timeout, linger_timeout=settings.body_timeout),
            timeout_keep_alive=settings.keep_alive_timeout,  # idle connections between requests are closed
            timeout_graceful_shutdown=10,
            proxy_headers=False,  # bound to loopback by default; no proxy to trust
            server_header=False,
        )
        uvicorn.Server(config).run()
    finally:
        services.close()  # when uvicorn never started; a no-op after its lifespan shutdown
