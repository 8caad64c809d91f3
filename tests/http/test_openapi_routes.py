"""Every route of build_app is documented in openapi.ROUTES, and nothing else is."""

from __future__ import annotations

import re

from weir.http.openapi import ROUTES, document
from weir.http.routes import build_app
from weir.wiring import Services


class _Nothing:
    backend = "none"


def test_routes_and_openapi_agree():
    app = build_app(Services(store=_Nothing(), ingest=None, query=None))  # type: ignore[arg-type]
    registered = set()
    for route in app._static_routes + app._dynamic_routes:
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        registered.add((route.method.lower(), path))
    assert registered == set(ROUTES)
    assert '"/alerts/{rule_id}/history"' in document()
