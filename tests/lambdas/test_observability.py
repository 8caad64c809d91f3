"""Tracing degrades to nothing without the X-Ray SDK (the seed's fix #4), and the region is
never set by Weir (the seed's CDK fix): boto3 reads what the runtime provides."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from .conftest import EVENTS

ROOT = Path(__file__).resolve().parents[2]


def test_without_the_xray_sdk_there_is_no_tracer_and_no_import_error(monkeypatch):
    from weir.lambdas import runtime

    monkeypatch.setitem(sys.modules, "aws_xray_sdk", None)  # import now raises ImportError
    assert runtime.make_tracer("weir-test") is None
    handler = object()
    assert runtime.traced(None)(handler) is handler


def test_with_the_xray_sdk_the_powertools_tracer_is_used():
    from aws_lambda_powertools import Tracer

    from weir.lambdas import runtime

    assert isinstance(runtime.make_tracer("weir-test"), Tracer)


def test_functions_start_and_answer_in_an_interpreter_without_the_sdk(lambda_env):
    """A fresh interpreter that cannot import aws_xray_sdk, as in the Lambda bundle."""
    code = f"""
import json, sys
sys.modules["aws_xray_sdk"] = None
from weir.lambdas import api, stream
from weir.http.gateway import LambdaContext
assert api.tracer is None and stream.tracer is None
event = json.load(open({str(EVENTS / "apigw" / "get_health.json")!r}))
print(json.dumps(api.handler(event, LambdaContext())))
"""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    response = json.loads(out.stdout.strip().splitlines()[-1])
    assert response["statusCode"] == 200 and json.loads(response["body"])["backend"] == "dynamodb"


def test_the_code_never_sets_or_requires_a_region():
    offenders = []
    for path in (ROOT / "src").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            if re.search(r"region_name\s*=|environ\[.AWS_REGION.\]|AWS_REGION.\s*[:,)]|setenv\(.AWS_REGION", code):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []
