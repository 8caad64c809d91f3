import json
import re

from weir.http.app import build_app
from weir.http.openapi.document import ROUTES, document
from weir.http.routes import files as files_routes
from weir.http.routes import formats as formats_routes
from weir.http.routes import ui as ui_routes
from weir.http.services import ApiServices
from weir.metrics.ingest import IngestService
from weir.metrics.query.service import QueryService

# regex routes → documented paths
DOC_PATHS = {**formats_routes.DOC_PATHS, **files_routes.DOC_PATHS, **ui_routes.DOC_PATHS}


def test_every_route_is_documented_and_every_documented_route_exists():
    # Routes are only registered here, never called: the services need not work.
    services = ApiServices(store=None, ingest=IngestService(object()), query=QueryService(None))  # type: ignore[arg-type]
    app = build_app(services)
    registered = set()
    for route in app._static_routes + app._dynamic_routes:  # Powertools keeps no public list
        path = DOC_PATHS.get(route.path, re.sub(r"<(\w+)>", r"{\1}", route.path))
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
