"""Expressions nested or chained far past what promql-parser's stack holds, at every entry
point that parses PromQL, against a real `weir serve`: each is a 400 `bad_data` naming the
position, and the server process lives on (a crash there loses every write not yet
acknowledged, and every request in flight)."""

from __future__ import annotations

import urllib.parse

import pytest

from weir.metrics import limits
from weir.promql.bounds import MAX_STRUCTURE

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MAX_URL = limits.MAX_URL_BYTES  # weir serve answers 414 past it

# Each one, unbounded, kills the process with a segmentation fault in the Rust parser (the
# word operators passed the first bound, which counted only operator characters).
DEEP = {
    "unary minus": "-(" * 10_000 + "1" + ")" * 10_000,
    "bare unary minus": "-" * 10_000 + "1",
    "parentheses": "(" * 10_000 + "x" + ")" * 10_000,
    "calls": "abs(" * 10_000 + "x" + ")" * 10_000,
    "sum": "1+" * 10_000 + "1",
    "and": " and ".join(["x"] * 5_000),
    "OR": " OR ".join(["x"] * 5_000),
    "unless": " unless ".join(["x"] * 3_000),
    "atan2": " atan2 ".join(["x"] * 3_000),
    "== bool": " == bool ".join(["x"] * 3_000),
}


def entry_points(expr: str):
    """(method, path, params): every route that hands text to the PromQL parser."""
    q = {"query": expr}
    ranged = {**q, "start": "1700000000", "end": "1700003600", "step": "60"}
    m = {"match[]": expr}
    for method in ("GET", "POST"):
        yield method, "/api/v1/query", q
        yield method, "/api/v1/query_range", ranged
        yield method, "/api/v1/format_query", q
        yield method, "/api/v1/query_exemplars", q
        yield method, "/api/v1/series", m
        yield method, "/api/v1/labels", m
    yield "GET", "/api/v1/label/host/values", m


@pytest.fixture(scope="module")
def weir(server):
    assert server.http.post("/metrics", {"name": "x", "value": 1, "dimensions": {"host": "a"}}).status == 200
    return server


def ask(weir, method: str, path: str, params: dict):
    body = urllib.parse.urlencode(params)
    if method == "GET":
        return weir.http.request("GET", f"{path}?{body}")
    return weir.http.request("POST", path, body, headers=FORM)


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_a_deep_expression_is_a_400_at_every_entry_point_and_the_server_lives(weir, shape):
    for method, path, params in entry_points(DEEP[shape]):
        r = ask(weir, method, path, params)
        if method == "GET" and len(path) + 1 + len(urllib.parse.urlencode(params)) > MAX_URL:
            assert r.status == 414, (method, path, r)  # refused before routing, never parsed
            continue
        param = "match[]" if "match[]" in params else "query"
        assert r.status == 400, (method, path, r)
        body = r.json()
        assert body["status"] == "error" and body["errorType"] == "bad_data", (method, path, body)
        assert body["error"].startswith(f'invalid parameter "{param}": 1:'), body
        assert f"more than {MAX_STRUCTURE} operators" in body["error"], body
        assert weir.proc.poll() is None, f"weir serve died on {shape} at {method} {path}"
    assert weir.http.get("/health").status == 200


@pytest.mark.parametrize("shape", sorted(DEEP))
def test_the_same_shapes_at_the_bound_are_answered(weir, shape):
    """Just under the bound each shape parses and evaluates (the bound refuses depth, not kinds)."""
    text = DEEP[shape]
    cut = {"unary minus": "-(" * 125 + "1" + ")" * 125, "bare unary minus": "-" * 250 + "1",
           "parentheses": "(" * 250 + "x" + ")" * 250, "calls": "abs(" * 250 + "x" + ")" * 250,
           "sum": "1+" * 250 + "1", "== bool": " == bool ".join(["x"] * 126)}.get(shape)
    if cut is None:  # the word operators: 250 of them
        word = text.split(" ")[1]
        cut = f" {word} ".join(["x"] * 251)
    for method, path, params in entry_points(cut):
        if "match[]" in params:
            continue  # a selector: any operator is a 400 there anyway
        r = ask(weir, method, path, params)
        assert r.status == 200, (shape, method, path, r)


def test_a_deeply_nested_regex_is_a_400_wherever_a_matcher_is_taken(weir):
    """Nesting inside a string is the regex engine's: promql-parser's (Rust) and Weir's (the
    matchers of remote read, which parses no PromQL text) both refuse it without crashing."""
    from weir.wire import pb
    from weir.wire import remote_encode as enc

    pattern = "(" * 10_000 + "a" + ")" * 10_000
    selector = f'x{{host=~"{pattern}"}}'
    for path, params in (("/api/v1/query", {"query": selector}), ("/api/v1/series", {"match[]": selector})):
        r = ask(weir, "POST", path, params)
        assert r.status == 400 and r.json()["errorType"] == "bad_data", (path, r)
    body = pb.snappy(enc.read_request([(0, 1_700_000_000_000, [("=", "__name__", "x"), ("=~", "host", pattern)])], ()))
    r = weir.http.request("POST", "/api/v1/read", body,
                          headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "snappy"})
    assert r.status == 400 and "regular expression" in r.json()["message"], r
    assert weir.proc.poll() is None and weir.http.get("/health").status == 200
