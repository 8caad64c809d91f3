"""The route table's answers for requests no route takes: 405 with Allow, or 404."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/metrics/cpu", "GET"),
    ("PUT", "/metrics", "GET, POST"),
    ("PATCH", "/alerts/r-1", "DELETE, GET, PUT"),
    ("GET", "/write", "POST"),
    ("POST", "/ping", "GET, HEAD"),
])
def test_a_known_path_with_another_method_is_a_405_naming_the_allowed_ones(api, method, path, allow):
    r = api.request(method, path)
    assert r.status == 405, r
    assert r.headers["allow"] == allow
    body = r.json()
    assert body["error"] == "method_not_allowed" and allow in body["message"]


def test_an_unknown_path_is_still_a_404(api):
    r = api.request("DELETE", "/nothing/here")
    assert r.status == 404 and r.json()["error"] == "not_found"
