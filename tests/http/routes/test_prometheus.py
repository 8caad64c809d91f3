"""The `/api/v1` Router in process, over a real SQLite store: the bounds a socket test cannot set
(the engine's sample limit) and how every kind of error is wrapped in Prometheus' envelope."""

from __future__ import annotations

import json
import time

import pytest
from aws_lambda_powertools.event_handler.api_gateway import APIGatewayRestResolver

from weir.auth import READ_POSTS
from weir.config import Settings
from weir.errors import StorageError
from weir.http.gateway import LambdaContext, build_event
from weir.http.routes.prometheus import READ_POSTS as ROUTE_READ_POSTS
from weir.http.routes.prometheus import router as build_router
from weir.wire.json import ingest_json
from weir.wiring.serve import build_serve

BASE = (int(time.time()) // 3600 - 2) * 3600


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    serve = build_serve(Settings(data_dir=tmp_path_factory.mktemp("routes") / "data", watch_files=False))
    svc = serve.api
    pts = [{"name": "cpu", "value": float(j), "timestamp": BASE + 10 * j, "dimensions": {"host": f"h{h}"}}
           for j in range(100) for h in range(5)]
    assert ingest_json(svc.ingest, json.dumps({"metrics": pts}).encode()).accepted == len(pts)
    yield svc
    serve.close()


def resolve(router, method: str, path: str, query: str = "", body: bytes = b"", headers: dict | None = None):
    app = APIGatewayRestResolver()
    app.include_router(router)
    scope = {"type": "http", "method": method, "path": path, "query_string": query.encode()}
    reply = app.resolve(build_event(scope, headers or {}, body), LambdaContext())
    return reply["statusCode"], json.loads(reply["body"])


def test_a_query_over_the_sample_limit_is_a_422_saying_how_to_narrow_it(services):
    small = build_router(services, max_samples=200)
    status, body = resolve(small, "GET", "/api/v1/query", f"query=count_over_time(cpu[1h])&time={BASE + 990}")
    assert (status, body["status"], body["errorType"]) == (422, "error", "execution")
    assert "too many samples" in body["error"] and "narrow" in body["error"]
    # the same query, within the limit
    status, body = resolve(build_router(services), "GET", "/api/v1/query",
                           f"query=count_over_time(cpu[1h])&time={BASE + 990}")
    assert status == 200 and [s["value"][1] for s in body["data"]["result"]] == ["100"] * 5


def test_store_failures_are_enveloped_503s(services, monkeypatch):
    def unavailable(*a, **k):
        raise StorageError("throttled; retry")

    monkeypatch.setattr(services.store, "select", unavailable)
    status, body = resolve(build_router(services), "GET", "/api/v1/query", f"query=cpu&time={BASE}")
    assert (status, body) == (503, {"status": "error", "errorType": "unavailable", "error": "throttled; retry"})


def test_a_bug_is_an_enveloped_500(services, monkeypatch):
    def broken(*a, **k):
        raise KeyError("bug")

    monkeypatch.setattr(services.store, "metric_names", broken)
    status, body = resolve(build_router(services), "GET", "/api/v1/label/__name__/values")
    assert (status, body["errorType"]) == (500, "internal") and "bug" not in body["error"]


def test_form_bodies(services):
    router = build_router(services)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = resolve(router, "POST", "/api/v1/query", "time=1", f"query=cpu&time={BASE}".encode(), form)
    assert status == 200 and body["data"]["result"][0]["value"][0] == BASE, "the body's value comes first"
    status, body = resolve(router, "POST", "/api/v1/query", "", b"query=cpu", {"Content-Type": "text/plain"})
    assert (status, body["errorType"]) == (415, "bad_data")


def test_the_reads_auth_lets_through_are_the_routes_post_endpoints():
    from weir.http.routes.remote import READ_PATH  # remote read, a protobuf POST that reads

    assert READ_POSTS == ROUTE_READ_POSTS | {READ_PATH}
