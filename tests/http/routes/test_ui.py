"""The UI's routes in the route table: files, gzip, redirects of browsers, open without keys."""

from __future__ import annotations

import base64
import gzip

import pytest
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver

from weir.http.gateway import LambdaContext, build_event
from weir.http.routes import ui as ui_routes
from weir.ui.static import StaticFiles


@pytest.fixture
def app(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Weir</title>" + " " * 400)
    (dist / "assets" / "app-1.js").write_text("export const x = 1;\n" * 100)
    resolver = APIGatewayRestResolver()
    resolver.include_router(ui_routes.router(static=StaticFiles(dist)))
    return resolver


def call(app, path, headers=None, stage_path=None, query=b""):
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query,
             "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()]}
    event = build_event(scope, {k.lower(): v for k, v in (headers or {}).items()}, b"")
    if stage_path is not None:  # as API Gateway sends it: the stage in requestContext.path only
        event["requestContext"]["path"] = stage_path
    out = app.resolve(event, LambdaContext())
    body = base64.b64decode(out["body"]) if out.get("isBase64Encoded") else (out["body"] or "").encode()
    headers = {k.lower(): v for k, v in (out.get("headers") or {}).items()}
    headers.update({k.lower(): ",".join(v) for k, v in (out.get("multiValueHeaders") or {}).items()})
    return out["statusCode"], headers, body


def test_pages_and_assets_gzip_when_accepted(app):
    status, headers, body = call(app, "/ui/explore", {"accept-encoding": "gzip, br"})
    assert status == 200 and headers["content-encoding"] == "gzip" and headers["content-type"].startswith("text/html")
    assert gzip.decompress(body).startswith(b"<!doctype html>")
    assert "default-src 'self'" in headers["content-security-policy"]
    status, headers, body = call(app, "/ui/assets/app-1.js")
    assert status == 200 and "content-encoding" not in headers and body.startswith(b"export const")
    assert headers["cache-control"].endswith("immutable") and headers["vary"] == "Accept-Encoding"


def test_browsers_asking_for_root_go_to_the_ui_and_api_clients_keep_the_404(app):
    status, headers, _ = call(app, "/", {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert status == 302 and headers["location"] == "/ui/"
    status, headers, body = call(app, "/", {"accept": "application/json"})
    assert status == 404 and b"openapi.json" in body and headers["content-type"] == "application/json"
    status, headers, _ = call(app, "/ui", query=b"a=1")
    assert status == 302 and headers["location"] == "/ui/?a=1"
    status, headers, body = call(app, "/ui/")
    assert status == 200 and body.startswith(b"<!doctype html>")


def test_redirects_keep_the_api_gateway_stage(app):
    status, headers, _ = call(app, "/", {"accept": "text/html"}, stage_path="/prod/")
    assert status == 302 and headers["location"] == "/prod/ui/"
    status, headers, _ = call(app, "/ui", stage_path="/prod/ui")
    assert headers["location"] == "/prod/ui/"


def test_capabilities_follow_the_documented_routes(app):
    import json

    from weir.http.openapi.document import ROUTES

    status, headers, body = call(app, "/ui/capabilities.json")
    caps = json.loads(body)
    assert status == 200 and headers["content-type"] == "application/json"
    assert caps["promql"] is (("get", "/api/v1/query_range") in ROUTES) and caps["status"] is True
    assert caps["files_delimiter"] is True
