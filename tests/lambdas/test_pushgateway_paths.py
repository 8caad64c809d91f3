"""One Pushgateway URL, one group: `weir serve` (uvicorn over loopback) and the `api`
function behind API Gateway REST read the grouping labels of a path alike, as the
Pushgateway does: the path is percent-decoded once, then split on `/`.

API Gateway REST delivers `path` as the client sent it (still percent-encoded), while the
ASGI server hands the local gateway the decoded path; the events below are built the
API Gateway way, the local requests go over a real socket.
"""

from __future__ import annotations

import json

import pytest

from .conftest import apigw_event, context

CASES = [
    # (grouping part of the URL, as sent; the labels a Pushgateway reads from it)
    ("instance/a%2541", {"instance": "a%41"}),  # a literal "%41": decoded once, not twice
    ("instance/a%20b", {"instance": "a b"}),
    ("instance/a+b", {"instance": "a+b"}),  # '+' is a space only in a query string
    ("name/%CE%A0%CF%81", {"name": "Πρ"}),
    ("path@base64/L3Zhci90bXA%3D", {"path": "/var/tmp"}),  # '=' padding sent encoded
    ("instance%40base64/YS9i", {"instance": "a/b"}),  # the marker itself encoded
]


def lambda_push(path: str, text: str) -> tuple[int, dict]:
    from weir.lambdas import api

    ev = apigw_event("post_metrics_batch")
    ev.update(httpMethod="PUT", path=path, body=text)
    ev["pathParameters"] = {"proxy": path.lstrip("/")}
    ev["requestContext"] = {**ev["requestContext"], "path": "/dev" + path}
    ev["headers"] = {**ev["headers"], "Content-Type": "text/plain; version=0.0.4"}
    ev["multiValueHeaders"] = {**ev["multiValueHeaders"], "Content-Type": ["text/plain; version=0.0.4"]}
    r = api.handler(ev, context())
    return r["statusCode"], json.loads(r["body"])


def lambda_groups() -> list[dict]:
    from weir.lambdas import api

    r = api.handler({**apigw_event("get_metrics"), "path": "/pushgateway/groups"}, context())
    return json.loads(r["body"])["groups"]


def only(groups: list[dict], job: str) -> dict:
    [g] = [g for g in groups if g["labels"].get("job") == job]
    return g


@pytest.mark.parametrize("i, grouping, labels", [(i, *c) for i, c in enumerate(CASES)])
def test_the_same_push_is_the_same_group_locally_and_behind_api_gateway(server, lambda_env, i, grouping, labels):
    job = f"paths{i}"
    path = f"/metrics/job/{job}/{grouping}"
    text = f"pg_path_{i} 1\n"

    local = server.http.request("PUT", path, body=text)
    assert local.status == 200, local
    status, body = lambda_push(path, text)
    assert status == 200, body

    want = {"job": job, **labels}
    on_serve = only(server.http.get("/pushgateway/groups").json()["groups"], job)
    on_lambda = only(lambda_groups(), job)
    assert on_serve["labels"] == on_lambda["labels"] == want
    assert on_serve["metrics"] == on_lambda["metrics"]
    [key] = on_serve["metrics"][f"pg_path_{i}"]
    assert all(f'{k}="{v}"' in key for k, v in want.items()), key


@pytest.mark.parametrize("grouping", ["instance/a%2Fb/x", "instance/a%2Fb"])
def test_an_encoded_slash_separates_in_both_as_in_the_pushgateway(server, lambda_env, grouping):
    """`%2F` is decoded before the split, so it is a separator (the Pushgateway's README:
    use `@base64` for a `/` in a value): an odd path is refused alike in both."""
    path = f"/metrics/job/slashes/{grouping}"
    local = server.http.request("PUT", path, body="pg_slash 1\n")
    status, body = lambda_push(path, "pg_slash 1\n")
    if grouping.endswith("/x"):  # decoded: instance=a, b=x — a valid, different grouping
        assert local.status == status == 200
        want = {"job": "slashes", "instance": "a", "b": "x"}
        assert only(server.http.get("/pushgateway/groups").json()["groups"], "slashes")["labels"] == want
        assert only(lambda_groups(), "slashes")["labels"] == want
    else:
        assert local.status == status == 400, (local, body)
        assert local.json()["error"] == body["error"] == "invalid_input"
