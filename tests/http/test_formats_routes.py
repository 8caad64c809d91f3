"""Every route of the table is documented in openapi.ROUTES, and the reverse."""

from __future__ import annotations

import re

from weir.http.formats_routes import DOC_PATHS
from weir.http.openapi import ROUTES
from weir.http.routes import build_app
from weir.metrics.ingest import IngestService
from weir.metrics.query import QueryService
from weir.wiring import Services


def test_routes_and_openapi_agree():
    services = Services(store=None, ingest=IngestService(object()), query=QueryService(None))  # type: ignore[arg-type]
    app = build_app(services)
    table = set()
    for route in app._static_routes + app._dynamic_routes:
        path = DOC_PATHS.get(route.path, re.sub(r"<(\w+)>", r"{\1}", route.path))
        table.add((route.method.lower(), path))
    assert table == set(ROUTES)
