"""`weir serve --backend aws` over a real loopback socket, against DynamoDB on moto."""

from __future__ import annotations

import time
import uuid

import pytest

from tests.helpers import ROOT, WeirProcess


@pytest.fixture
def aws_server(aws_env, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    args = ("--backend", "aws", "--endpoint-url", aws_env, "--metrics-table", f"serve-m-{suffix}",
            "--series-table", f"serve-s-{suffix}", "--alert-table", f"serve-a-{suffix}")
    proc = WeirProcess(tmp_path / "unused", *args, "--create-tables")
    proc.start(timeout=60)
    yield proc, args
    proc.stop()


def test_serve_over_dynamodb_ingests_and_answers(aws_server, tmp_path):
    proc, args = aws_server
    api = proc.http
    health = api.get("/health").json()
    assert (health["status"], health["backend"], health["name"]) == ("ok", "dynamodb", "weir")
    assert health.get("reason") is None
    now = int(time.time())
    body = {"metrics": [{"name": "req", "value": v, "timestamp": now - 30 + i, "dimensions": {"route": r}}
                        for i, (r, v) in enumerate([("/a", 1.0), ("/b", 2.0), ("/a", 3.0)])]}
    r = api.post("/metrics", body)
    assert r.status == 200 and r.json() == {"accepted": 3, "rejected": []}
    q = api.get("/metrics/req", params={"start": "-5m", "period": "300", "stat": "count,sum", "group_by": "route"})
    assert q.status == 200
    # the three points may straddle a period boundary, so add up every period of a group
    got = {g["group"]["route"]: (sum(d["count"] for d in g["datapoints"]), sum(d["sum"] for d in g["datapoints"]))
           for g in q.json()["groups"]}
    assert got == {"/a": (2, 4.0), "/b": (1, 2.0)}
    assert api.post("/metrics", {"metrics": [{"name": "req", "value": "x"}]}).status == 400

    proc.stop()  # the data lives in DynamoDB: a new server (tables already there) sees it
    again = WeirProcess(tmp_path / "unused2", *args)
    again.start(timeout=60)
    try:
        assert again.http.get("/metrics").json() == {"metrics": [{"name": "req", "series": 2}]}
    finally:
        again.stop()


def test_options_that_need_the_aws_backend_are_refused(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "weir", "serve", "--create-tables"], capture_output=True, text=True,
                         cwd=tmp_path, env={"PYTHONPATH": str(ROOT / "src")})
    assert out.returncode == 2 and "--backend aws" in out.stderr


def test_without_a_region_serve_says_so_and_exits(tmp_path):
    import os
    import subprocess
    import sys

    from tests.helpers import free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(PYTHONPATH=str(ROOT / "src"), AWS_CONFIG_FILE=str(tmp_path / "none"),
               AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    out = subprocess.run([sys.executable, "-m", "weir", "serve", "--backend", "aws", "--port", str(free_port())],
                         capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert out.returncode != 0
    assert "error: no AWS region configured" in out.stderr and "AWS_DEFAULT_REGION" in out.stderr
    assert "Traceback" not in out.stderr


def test_serve_over_dynamodb_evaluates_alert_rules_in_the_background(aws_server):
    """The same alerting as local mode, with rules and states in the DynamoDB alert table."""
    proc, _ = aws_server
    api = proc.http
    rule = {"name": "req high", "metric": "req", "statistic": "max", "threshold": 10, "period": 60,
            "severity": "critical"}
    r = api.post("/alerts", rule, params={"allow_unknown_metric": "true"})
    assert r.status == 201, r.json()
    rule_id = r.json()["id"]
    assert api.post("/alerts", rule, params={"allow_unknown_metric": "true"}).status == 409  # unique names
    assert api.post("/metrics", {"metrics": [{"name": "req", "value": 50.0}]}).status == 200
    deadline = time.monotonic() + 60  # bounds a failure only: a loaded runner is slow over moto
    while time.monotonic() < deadline:  # evaluated after the ingest, by the server's own thread
        states = api.get(f"/alerts/{rule_id}").json()["states"]
        if states and states[0]["state"] == "ALARM":
            break
        time.sleep(0.2)
    assert states[0]["state"] == "ALARM"
    [event] = api.get("/alerts/events").json()["events"]
    assert event["event"]["rule_name"] == "req high" and event["deliveries"][0]["target"] == "log"
