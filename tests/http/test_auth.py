"""API keys over a real socket: open without keys, closed once one exists."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from tests.helpers import WeirProcess
from weir.cli import main

POINT = {"name": "authed", "value": 1}


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    data = tmp_path_factory.mktemp("auth") / "data"
    proc = WeirProcess(data)
    proc.start()
    yield proc, data
    proc.stop()


def add_key(data, name):
    result = CliRunner().invoke(main, ["keys", "add", name, "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_lifecycle(keyed):
    proc, data = keyed
    api = proc.http
    assert api.post("/metrics", POINT).status == 200, "no keys yet: open"
    key = add_key(data, "ci")
    assert key.startswith("weir_")
    r = api.post("/metrics", POINT)
    assert r.status == 401 and "weir keys add" in r.json()["message"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.get("/metrics").status == 401, "reads are closed too unless --open-reads"
    assert api.get("/health").status == 200
    assert api.get("/ping").status == 204, "InfluxDB's probe is open, as /health"
    assert api.post("/metrics", POINT, headers={"Authorization": f"Bearer {key}"}).status == 200
    assert api.post("/metrics", POINT, headers={"x-api-key": key}).status == 200
    assert api.post("/metrics", POINT, headers={"Authorization": f"Token {key}"}).status == 200, "influxdb-client"
    assert api.post("/metrics", POINT, headers={"x-api-key": key + "x"}).status == 401
    # keys are stored as digests only
    assert key.encode() not in (data / "keys.db").read_bytes()
    ls = CliRunner().invoke(main, ["keys", "ls", "--data-dir", str(data)])
    assert "ci" in ls.output and key not in ls.output
    assert CliRunner().invoke(main, ["keys", "add", "ci", "--data-dir", str(data)]).exit_code != 0
    rm = CliRunner().invoke(main, ["keys", "rm", "ci", "--data-dir", str(data)])
    assert rm.exit_code == 0
    assert api.post("/metrics", POINT, headers={"x-api-key": key}).status == 200, "open again with no key left"


def test_open_reads(tmp_path):
    data = tmp_path / "data"
    add_key(data, "writer")
    proc = WeirProcess(data, "--open-reads")
    proc.start()
    try:
        assert proc.http.get("/metrics").status == 200
        assert proc.http.post("/metrics", POINT).status == 401
    finally:
        proc.stop()


def test_cli_sends_the_key(tmp_path):
    data = tmp_path / "data"
    key = add_key(data, "cli")
    proc = WeirProcess(data)
    proc.start()
    try:
        src = tmp_path / "p.jsonl"
        src.write_text('{"name": "viacli", "value": 1}\n')
        denied = CliRunner().invoke(main, ["push", str(src), "--url", proc.url])
        assert denied.exit_code == 1 and "401" in denied.output
        ok = CliRunner().invoke(main, ["push", str(src), "--url", proc.url], env={"WEIR_API_KEY": key})
        assert ok.exit_code == 0, ok.output
    finally:
        proc.stop()


def test_rate_limit_answers_429_with_retry_after(tmp_path):
    proc = WeirProcess(tmp_path / "data", "--rate-limit", "1")
    proc.start()
    try:
        # 1 request/s, bursts of 2: the burst always passes; a token comes back every second,
        # so on a slow machine a few more may pass before one is refused -- but only a few.
        t0 = time.monotonic()
        replies = [proc.http.post("/metrics", POINT), proc.http.post("/metrics", POINT)]
        assert [x.status for x in replies] == [200, 200]
        while replies[-1].status != 429 and len(replies) < 50:
            replies.append(proc.http.post("/metrics", POINT))
        passed = sum(x.status == 200 for x in replies)
        assert passed <= 2 + (time.monotonic() - t0), [x.status for x in replies]  # the burst + 1/s since
        r = replies[-1]
        assert r.status == 429 and int(r.headers["retry-after"]) >= 1
        assert "rate limit" in r.json()["message"]
        assert proc.http.get("/health").status == 200, "health is never limited"
    finally:
        proc.stop()


def test_the_web_ui_files_are_open_but_its_data_is_not():
    from weir.auth import Authenticator, digest
    from weir.errors import UnauthorizedError

    class Keys:
        def digests(self):
            return [digest("weir_k")]

    auth = Authenticator(Keys())  # type: ignore[arg-type]
    for path in ("/", "/ui", "/ui/", "/ui/explore", "/ui/assets/index-1a.js"):
        auth.check("GET", path, {})
    for method, path in [("GET", "/metrics"), ("GET", "/status"), ("POST", "/ui/x"), ("GET", "/uix"),
                         ("DELETE", "/ui/")]:
        with pytest.raises(UnauthorizedError):
            auth.check(method, path, {})
    auth.check("GET", "/status", {"x-api-key": "weir_k"})


def _until_limited(proc, method: str, **kw) -> tuple[list[int], float]:
    """Requests with a fresh random `x-api-key` each until one is refused (or 50 pass)."""
    import uuid

    t0 = time.monotonic()
    codes: list[int] = []
    while 429 not in codes and len(codes) < 50:
        codes.append(proc.http.request(method, "/metrics", headers={"x-api-key": uuid.uuid4().hex},
                                       **kw).status)
    return codes, time.monotonic() - t0


def test_unchecked_keys_do_not_get_their_own_rate_limit(tmp_path):
    """No key configured: the header is never checked, so a fresh one per request must not buy a
    fresh bucket; the caller is limited by its address (issue 18, bug 7)."""
    proc = WeirProcess(tmp_path / "data", "--rate-limit", "1")
    proc.start()
    try:
        codes, elapsed = _until_limited(proc, "GET")
        assert codes[-1] == 429, codes
        assert codes.count(200) <= 2 + elapsed, codes
    finally:
        proc.stop()


def test_open_reads_are_limited_by_address_and_a_verified_key_by_key(tmp_path):
    data = tmp_path / "data"
    key = add_key(data, "writer")
    proc = WeirProcess(data, "--open-reads", "--rate-limit", "1")
    proc.start()
    try:
        codes, elapsed = _until_limited(proc, "GET")  # reads under --open-reads check no key
        assert codes[-1] == 429, codes
        assert codes.count(200) <= 2 + elapsed, codes
        # a key that was verified has a bucket of its own, untouched by the address's
        r = proc.http.post("/metrics", POINT, headers={"x-api-key": key})
        assert r.status == 200, r
        # wrong keys spend the address's tokens: refused as unauthorized, then limited
        codes, _ = _until_limited(proc, "POST", json_body=POINT)
        assert set(codes) <= {401, 429} and codes[-1] == 429, codes
    finally:
        proc.stop()
