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


def test_functions_start_and_answer_in_an_interpreter_without_the_sdk(lambda_env, dynamodb, tmp_path):
    """Fresh interpreters, as in Lambda: no aws_xray_sdk, nothing imported before the
    handler module (so `lean.lazy_packages` takes effect), real calls against moto."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    prelude = """
import json, sys
sys.modules["aws_xray_sdk"] = None
from weir.http.gateway import LambdaContext
"""
    api_code = prelude + f"""
from weir.lambdas import api
assert api.tracer is None
def call(name):
    r = api.handler(json.load(open({str(EVENTS / "apigw")!r} + "/" + name + ".json")), LambdaContext())
    return r["statusCode"], json.loads(r["body"])
assert call("get_health")[0] == 200
assert call("post_metrics_batch") [1]["accepted"] == 3
status, body = call("get_query")
print(json.dumps([status, sorted(g["datapoints"][0]["count"] for g in body["groups"])]))
"""
    out = subprocess.run([sys.executable, "-c", api_code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [200, [1, 1, 1]]

    from .conftest import stream_event

    event_file = tmp_path / "stream.json"
    event_file.write_text(json.dumps(stream_event(dynamodb, lambda_env[0])))
    stream_code = prelude + f"""
from weir.lambdas import stream
assert stream.tracer is None
event = json.load(open({str(event_file)!r}))
assert len(event["Records"]) >= 2
print(json.dumps(stream.handler(event, LambdaContext())))
"""
    out = subprocess.run([sys.executable, "-c", stream_code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}


def test_the_code_never_sets_or_requires_a_region():
    offenders = []
    for path in (ROOT / "src").rglob("*.py"):
        for n, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            # A hard-coded region (the seed's fix #6) or AWS_REGION written anywhere (the CDK
            # fix): reading the region the runtime provides is fine.
            if re.search(r"region_name\s*=\s*[\"']|environ\[.AWS_REGION.\]\s*=[^=]|[\"']AWS_REGION[\"']\s*:|"
                         r"setenv\(.AWS_REGION", code):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert offenders == []


def test_the_scheduled_functions_start_and_run_without_the_sdk(alerts_env, exporter_env):
    """`alerts` and `exporter` in fresh interpreters, as in Lambda: no X-Ray SDK, real calls."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    code = f"""
import json, sys
sys.modules["aws_xray_sdk"] = None
from weir.http.gateway import LambdaContext
from weir.lambdas import alerts, exporter
assert alerts.tracer is None and exporter.tracer is None
event = json.load(open({str(EVENTS / "eventbridge" / "scheduled.json")!r}))
print(json.dumps([alerts.handler(event, LambdaContext()), exporter.handler(event, LambdaContext())]))
"""
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    ran_alerts, ran_exporter = json.loads(out.stdout.strip().splitlines()[-1])
    assert ran_alerts == {"events": 0, "sent": 0, "failed": 0, "next_due_ns": None}
    assert len(ran_exporter["exported"]) == 1 and ran_exporter["rows"] == 0
