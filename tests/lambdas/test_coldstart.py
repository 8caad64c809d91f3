"""The cold start's GC pause: only in a Lambda sandbox, and always ended by the first
invocation, whether or not it could build its services."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys

from tests.helpers import ROOT

from .conftest import EVENTS


def test_outside_lambda_the_collector_is_never_paused(monkeypatch):
    from weir.lambdas import coldstart

    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    coldstart.pause()
    assert gc.isenabled() and not coldstart.paused()


def test_in_lambda_it_pauses_until_settled_then_freezes_what_init_built(monkeypatch):
    from weir.lambdas import coldstart

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "weir-test")
    frozen = gc.get_freeze_count()
    try:
        coldstart.pause()
        assert not gc.isenabled() and coldstart.paused()
        coldstart.settle()
        assert gc.isenabled() and not coldstart.paused() and gc.get_freeze_count() > frozen
        coldstart.settle()  # only the first settles
        assert gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


def fresh(code: str, env: dict) -> list:
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_a_function_in_a_fresh_sandbox_settles_on_its_first_invocation(lambda_env, dynamodb):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "AWS_LAMBDA_FUNCTION_NAME": "weir-api"}
    code = f"""
import gc, json
from weir.http.gateway import LambdaContext
from weir.lambdas import api
during = gc.isenabled()
r = api.handler(json.load(open({str(EVENTS / "apigw" / "get_health.json")!r})), LambdaContext())
print(json.dumps([during, r["statusCode"], gc.isenabled(), gc.get_freeze_count() > 0]))
"""
    assert fresh(code, env) == [False, 200, True, True]


def test_a_first_invocation_that_fails_still_settles(lambda_env):
    env = {k: v for k, v in os.environ.items() if k not in ("METRICS_TABLE", "SERIES_TABLE")}
    env.update(PYTHONPATH=str(ROOT / "src"), AWS_LAMBDA_FUNCTION_NAME="weir-alerts")
    code = """
import gc, json
from weir.http.gateway import LambdaContext
from weir.lambdas import alerts
try:
    alerts.handler({}, LambdaContext())
    failed = False
except Exception:
    failed = True
print(json.dumps([failed, gc.isenabled()]))
"""
    assert fresh(code, env) == [True, True]
