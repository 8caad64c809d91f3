import json
import re

from weir.http.openapi import ROUTES, document
from weir.http.routes import build_app


def test_every_route_is_documented_and_every_documented_route_exists():
    app = build_app(services=None)  # type: ignore[arg-type]  # routes are registered, not called
    registered = set()
    for route in app._static_routes + app._dynamic_routes:  # noqa: SLF001 - Powertools keeps no public list
        path = re.sub(r"<(\w+)>", r"{\1}", route.path)
        registered.add((route.method.lower(), path))
    assert registered == set(ROUTES)


def test_document_is_valid_json_with_components():
    doc = json.loads(document())
    for path, methods in doc["paths"].items():
        for op in methods.values():
            for response in op["responses"].values():
                for media in response.get("content", {}).values():
                    ref = media["schema"].get("$ref")
                    if ref:
                        assert ref.rsplit("/", 1)[1] in doc["components"]["schemas"], (path, ref)
