"""The API scenarios against a deployment, with its endpoints taken from stack outputs.

Two variants of every scenario:
- `local`: a `weir serve` started here (with an API key, as the stack's usage plan has),
  which writes the same outputs file a deployment would;
- `deployed`: a real stack, when WEIR_STACK_OUTPUTS names its outputs file
  (`pulumi stack output --json --show-secrets > outputs.json`); AWS credentials for the
  stack's account are needed for the export scenario (it invokes the exporter and reads S3).

Names are unique per run, so a real deployment can be tested again without cleanup.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.backends.test_webhook import Receiver
from tests.e2e.stack import OUTPUTS_ENV, Api, Exporter, StackOutputs, write_outputs
from tests.helpers import ROOT, WeirProcess
from weir.metrics.export import render as export
from weir.metrics.export.schedule import latest_due_hour
from weir.metrics.timeutil import NS

RUN = uuid.uuid4().hex[:8]


def wait_for(check, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


@pytest.fixture(scope="module")
def local_outputs(tmp_path_factory):
    """`weir serve` with one API key; exports only when asked (as the exporter function)."""
    root = tmp_path_factory.mktemp("e2e-stack")
    data = root / "data"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    made = subprocess.run([sys.executable, "-m", "weir", "keys", "add", "e2e", "--data-dir", str(data)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    server = WeirProcess(data, "--no-exports")
    server.start()
    yield write_outputs(root / "stack-outputs.json", environment="local", api_url=server.url,
                        api_key=made.stdout.strip(), data_dir=str(data), export_dir=str(root / "exports"),
                        functions={})
    server.stop()


@pytest.fixture(scope="module", params=["local", "deployed"])
def stack(request) -> StackOutputs:
    if request.param == "deployed":
        path = os.environ.get(OUTPUTS_ENV)
        if not path:
            pytest.skip(f"{OUTPUTS_ENV} is not set: no deployed stack to test. After `pulumi up` in infra/metrics: "
                        f"`pulumi stack output --json --show-secrets > outputs.json; {OUTPUTS_ENV}=$PWD/outputs.json "
                        "pytest tests/e2e/test_stack_api.py`")
        return StackOutputs.load(Path(path))
    return StackOutputs.load(request.getfixturevalue("local_outputs"))


@pytest.fixture(scope="module")
def api(stack) -> Api:
    return Api(stack)


def slow(stack) -> float:
    """How long to wait for asynchronous work: seconds locally, minutes on AWS (EventBridge).
    Only a failure waits that long; locally the bound allows for a loaded machine."""
    return 60.0 if stack.is_local else 240.0


def test_outputs_file_has_the_stack_shape(stack):
    for key in ("api_url", "api_key", "functions", "environment"):
        assert key in stack.raw, key
    if not stack.is_local:
        assert stack.api_url.startswith("https://") and stack.raw["region"] in stack.api_url
        assert {"api", "stream", "alerts", "exporter"} <= set(stack.raw["functions"])


def test_health_needs_no_key(api):
    r = api.get("/health", key=False)
    assert r.status == 200, r


def test_writes_need_the_api_key(api):
    r = api.post("/metrics", {"name": f"e2e_{RUN}_nokey", "value": 1}, key=False)
    assert r.status in (401, 403), r  # 401 from weir serve, 403 from API Gateway
    body = r.json()
    assert body["error"] and body["message"], body


def test_ingest_then_query(api):
    name, now = f"e2e_{RUN}_cpu", int(time.time())
    start = now - now % 60 - 600
    points = [{"name": name, "value": float(i % 7), "timestamp": start + i * 10, "dimensions": {"host": host}}
              for host in ("a", "b") for i in range(60)]
    r = api.post("/metrics", {"metrics": points})
    assert r.status == 200 and r.json() == {"accepted": 120, "rejected": []}, r
    r = api.get(f"/metrics/{name}", params={"start": start, "end": start + 600, "period": 60,
                                             "stat": "count,max,sum", "group_by": "host"})
    assert r.status == 200, r
    groups = {g["group"]["host"]: g["datapoints"] for g in r.json()["groups"]}
    assert set(groups) == {"a", "b"}
    for host, periods in groups.items():
        assert sum(p["count"] for p in periods) == 60, host
        assert sum(p["sum"] for p in periods) == sum(float(i % 7) for i in range(60))
        assert max(p["max"] for p in periods) == 6.0


def test_gzip_and_protobuf_bodies_arrive_intact(api):
    """API Gateway's binary media types: a gzipped JSON body and an OTLP protobuf body."""
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2 as svc

    name = f"e2e_{RUN}_bin"
    r = api.post("/metrics", {"name": name, "value": 3.5, "dimensions": {"via": "gzip"}}, gzip=True)
    assert r.status == 200 and r.json()["accepted"] == 1, r
    req = svc.ExportMetricsServiceRequest()
    metric = req.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = name
    point = metric.gauge.data_points.add()
    point.time_unix_nano, point.as_double = time.time_ns(), 4.5
    attr = point.attributes.add()
    attr.key, attr.value.string_value = "via", "otlp"
    protobuf = "application/x-protobuf"
    r = api.post("/v1/metrics", body=req.SerializeToString(), headers={"Content-Type": protobuf, "Accept": protobuf})
    assert r.status == 200, r
    svc.ExportMetricsServiceResponse.FromString(r.body)  # a binary answer, decoded byte for byte
    r = api.get(f"/metrics/{name}", params={"start": "-10m", "period": 3600, "stat": "max", "group_by": "via"})
    assert {g["group"]["via"]: g["datapoints"][-1]["max"] for g in r.json()["groups"]} == {"gzip": 3.5, "otlp": 4.5}


def test_an_alert_fires(api, stack):
    """A rule, a breaching datapoint, an ALARM event (and, locally, the webhook delivery)."""
    name = f"e2e_{RUN}_temp"
    assert api.post("/metrics", {"name": name, "value": 20.0, "dimensions": {"room": "a"}}).status == 200
    receiver = Receiver() if stack.is_local else None  # an AWS function cannot reach this machine's loopback
    try:
        if receiver is not None:
            r = api.post("/subscriptions", {"url": receiver.url, "name": f"e2e-{RUN}",
                                            "filter_policy": {"severity": ["critical"], "metric": [name]}})
            assert r.status == 201, r
        r = api.post("/alerts", {"name": f"e2e-{RUN} hot", "metric": name, "statistic": "max", "comparison": ">",
                                 "threshold": 30, "period": 60, "evaluation_periods": 1, "datapoints_to_alarm": 1,
                                 "severity": "critical"})
        assert r.status == 201, r
        rule_id = r.json()["id"]
        assert api.post("/metrics", {"name": name, "value": 45.0, "dimensions": {"room": "a"}}).status == 200

        def alarm_events():
            events = api.get("/alerts/events").json()["events"]
            return [e for e in events if e["event"]["rule_id"] == rule_id and e["event"]["state"] == "ALARM"]

        events = wait_for(alarm_events, timeout=slow(stack))
        assert events, "no ALARM event for the rule"
        assert events[0]["event"]["value"] == 45.0 and events[0]["event"]["severity"] == "critical"
        if receiver is not None:
            assert wait_for(lambda: receiver.posts, timeout=slow(stack)), "the webhook got nothing"
            headers, body = receiver.posts[0]
            assert json.loads(body)["rule_id"] == rule_id and headers["X-Weir-Event-Id"]
        assert api.request("DELETE", f"/alerts/{rule_id}").status == 204
    finally:
        if receiver is not None:
            receiver.close()


def test_the_hourly_export_appears(stack, api):
    """Points in the last closed hour, the exporter run for it, its rows in the export."""
    hour = latest_due_hour(time.time_ns(), 300 * NS)
    name = f"e2e_{RUN}_exported"
    points = [{"name": name, "value": float(i), "timestamp": (hour + i * 60 * NS) // NS, "dimensions": {"n": str(i)}}
              for i in range(30)]
    r = api.post("/metrics", {"metrics": points})
    assert r.status == 200 and r.json()["accepted"] == 30, r
    exporter = Exporter(stack)
    exporter.run(hour)

    def ours():
        rows = exporter.rows(hour)
        return rows is not None and sorted(r["value"] for r in rows if r["name"] == name)

    assert wait_for(ours, timeout=slow(stack), every=2.0) == [float(i) for i in range(30)]
    manifest = export.read_manifest(exporter.read(export.manifest_key(hour)))
    assert manifest["hour"] == export.format_hour(hour) and manifest["rows"] >= 30


def test_outputs_files_that_cannot_work_say_why(tmp_path):
    from tests.e2e.stack import OutputsError

    cases = {"hidden.json": {"api_url": "https://x", "api_key": "[secret]"}, "no-url.json": {"api_key": "k"}}
    for file, raw in cases.items():
        write_outputs(tmp_path / file, **raw)
        with pytest.raises(OutputsError, match="--show-secrets"):
            StackOutputs.load(tmp_path / file)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(OutputsError, match="not a JSON file"):
        StackOutputs.load(tmp_path / "bad.json")
