"""`weir serve`: the local HTTP front (uvicorn + the local gateway) over the services of the
configured backend (SQLite, or DynamoDB real or emulated)."""

from __future__ import annotations

import logging

import uvicorn

from weir.config import Settings
from weir.http.gateway import LocalGateway
from weir.http.routes import build_app
from weir.wiring import build

log = logging.getLogger("weir")


def make_gateway(settings: Settings) -> LocalGateway:
    holder: dict = {}

    def startup() -> None:
        services = build(settings)
        holder["services"] = services
        gateway.handler = build_app(services).resolve

    def shutdown() -> None:
        services = holder.pop("services", None)
        if services is not None:
            services.close()

    gateway = LocalGateway(_not_started, on_startup=startup, on_shutdown=shutdown)
    return gateway


def _not_started(event, context):  # replaced at startup
    raise RuntimeError("the gateway received a request before startup")


def serve(settings: Settings, *, access_log: bool = False) -> None:
    config = uvicorn.Config(
        make_gateway(settings),
        host=settings.host,
        port=settings.port,
        lifespan="on",
        access_log=access_log,
        log_level="info",
        http="httptools",
        loop="auto",
        timeout_graceful_shutdown=10,
        proxy_headers=False,  # bound to loopback by default; no proxy to trust
        server_header=False,
    )
    uvicorn.Server(config).run()
