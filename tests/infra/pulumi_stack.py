"""infra/metrics under Pulumi's mocks: no CLI, no provider plugin, no cloud.

`synthesize()` sets the mocks and the stack configuration, then runs the program once
(inside `@pulumi.runtime.test`, so every registration completes) and keeps what the mock
engine saw: each resource's type, name, parent, provider and resolved inputs, what each
component registered as outputs, and the log. The mocks answer like the AWS provider
does where the program depends on it: physical names (auto-naming adds a suffix),
`id`s (a table's or bucket's name, a topic's ARN, a queue's URL) and ARNs in the region
of the provider the resource was created with. Nothing else is invented, so a program
reading an attribute a resource does not have fails here as it would in `pulumi up`.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import json
import logging
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra" / "metrics" / "__main__.py"
PROJECT, STACK = "weir-metrics", "test"
ACCOUNT, PARTITION = "123456789012", "aws"
# Not the default region on purpose: a resource that ignored the configuration would show.
REGION = "eu-west-1"
ENVIRONMENT = "test"
CONFIG = {
    "aws:region": REGION,
    f"{PROJECT}:environment": ENVIRONMENT,
    f"{PROJECT}:owner": "metrics-team@example.com",
    f"{PROJECT}:costCentre": "cc-1234",
    f"{PROJECT}:alertEmail": "oncall@example.com",
    f"{PROJECT}:opsEmail": "ops@example.com",
}


@dataclass
class Registered:
    urn: str
    type: str
    name: str
    parent: str
    provider: str
    custom: bool
    inputs: dict
    id: str
    outputs: dict

    @property
    def parent_type(self) -> str:
        return self.parent.split("::")[2].split("$")[-1] if self.parent else ""


def _suffix(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:7]


class AwsMocks(pulumi.runtime.Mocks):
    """Provider-like answers: names, ids and ARNs, in the resource's provider's region."""

    def __init__(self) -> None:
        self.provider_regions: dict[str, str] = {}
        self.calls: list[tuple[str, dict]] = []

    def _region(self, args: pulumi.runtime.MockResourceArgs) -> str:
        if args.inputs.get("region"):
            return args.inputs["region"]
        provider_name = (args.provider or "").split("::")[-2] if args.provider else ""
        return self.provider_regions.get(provider_name, "default-provider-region")

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        typ, name, inp = args.typ, args.name, dict(args.inputs)
        if typ == "pulumi:providers:aws":
            self.provider_regions[name] = inp.get("region", "")
            return f"{name}-id", inp
        if not args.custom:
            return "", {}
        region, acct = self._region(args), ACCOUNT
        auto = f"{name}-{_suffix(name)}"
        out = dict(inp)
        rid = f"{name}-id"
        service = typ.split(":")[1].split("/")[0]
        if typ == "aws:dynamodb/table:Table":
            out["name"] = rid = inp.get("name") or auto
            out["arn"] = f"arn:aws:dynamodb:{region}:{acct}:table/{rid}"
            if inp.get("streamEnabled"):
                out["streamArn"] = f"{out['arn']}/stream/2026-01-01T00:00:00.000"
        elif typ == "aws:s3/bucket:Bucket":
            out["bucket"] = rid = inp.get("bucket") or auto
            out["arn"] = f"arn:aws:s3:::{rid}"
        elif typ == "aws:sns/topic:Topic":
            out["name"] = inp.get("name") or auto
            out["arn"] = rid = f"arn:aws:sns:{region}:{acct}:{out['name']}"
        elif typ == "aws:sns/topicSubscription:TopicSubscription":
            out["arn"] = rid = f"{inp['topic']}:{_suffix(name)}"
        elif typ == "aws:sqs/queue:Queue":
            out["name"] = inp.get("name") or auto
            out["arn"] = f"arn:aws:sqs:{region}:{acct}:{out['name']}"
            out["url"] = rid = f"https://sqs.{region}.amazonaws.com/{acct}/{out['name']}"
        elif typ == "aws:kms/key:Key":
            out["keyId"] = rid = f"key-{_suffix(name)}"
            out["arn"] = f"arn:aws:kms:{region}:{acct}:key/{rid}"
        elif typ == "aws:kms/alias:Alias":
            out["arn"] = f"arn:aws:kms:{region}:{acct}:{inp['name']}"
        elif typ == "aws:cloudwatch/logGroup:LogGroup":
            out["name"] = rid = inp.get("name") or auto
            out["arn"] = f"arn:aws:logs:{region}:{acct}:log-group:{rid}"
        elif typ == "aws:iam/role:Role":
            out["name"] = rid = inp.get("name") or auto
            out["arn"] = f"arn:aws:iam::{acct}:role/{rid}"
        elif typ == "aws:lambda/function:Function":
            out["name"] = rid = inp.get("name") or auto
            out["arn"] = f"arn:aws:lambda:{region}:{acct}:function:{rid}"
            out["invokeArn"] = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{out['arn']}/invocations"
        elif typ == "aws:lambda/eventSourceMapping:EventSourceMapping":
            out["uuid"] = rid = f"uuid-{_suffix(name)}"
        elif typ == "aws:apigateway/restApi:RestApi":
            rid = _suffix(name)
            out["rootResourceId"] = f"root-{rid}"
            out["executionArn"] = f"arn:aws:execute-api:{region}:{acct}:{rid}"
        elif typ == "aws:apigateway/stage:Stage":
            api, stage = inp["restApi"], inp["stageName"]
            out["invokeUrl"] = f"https://{api}.execute-api.{region}.amazonaws.com/{stage}"
            out["executionArn"] = f"arn:aws:execute-api:{region}:{acct}:{api}/{stage}"
        elif typ == "aws:apigateway/apiKey:ApiKey":
            out["value"] = f"mock-key-{_suffix(name)}"
        elif typ == "aws:cloudwatch/eventRule:EventRule":
            out["name"] = rid = inp.get("name") or auto
            out["arn"] = f"arn:aws:events:{region}:{acct}:rule/{rid}"
        elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            out["name"] = rid = inp.get("name") or auto
            out["arn"] = f"arn:aws:cloudwatch:{region}:{acct}:alarm:{rid}"
        elif "arn" not in out:
            out["arn"] = f"arn:aws:{service}:{region}:{acct}:{name}"
        return rid, out

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:user/deployer", "userId": "AIDEXAMPLE",
                    "id": ACCOUNT}
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": PARTITION, "dnsSuffix": "amazonaws.com", "id": PARTITION,
                    "reverseDnsPrefix": "com.amazonaws"}
        raise AssertionError(f"unexpected invoke {args.token}: teach the mocks what AWS answers")


def _plain(struct) -> dict:
    """Resolved property values, secrets unwrapped (the mocks hold nothing secret)."""
    return rpc.deserialize_properties_unwrap_secrets(struct)[0]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock engine, keeping every registration and each component's outputs."""

    def __init__(self, mocks: AwsMocks) -> None:
        super().__init__(mocks)
        self.registered: list[Registered] = []
        self.component_outputs: dict[str, dict] = {}
        self.invoke_providers: list[tuple[str, str]] = []

    def RegisterResource(self, request):
        resp = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            self.registered.append(Registered(
                urn=resp.urn, type=request.type, name=request.name, parent=request.parent,
                provider=request.provider, custom=request.custom,
                inputs=_plain(request.object),
                id=resp.id, outputs=_plain(resp.object)))
        return resp

    def RegisterResourceOutputs(self, request):
        self.component_outputs[request.urn] = _plain(request.outputs)
        return super().RegisterResourceOutputs(request)

    def Invoke(self, request):
        self.invoke_providers.append((request.tok, request.provider))
        return super().Invoke(request)


class LogCapture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[tuple[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append((record.levelname, record.getMessage()))


@dataclass
class Synth:
    program: object
    monitor: RecordingMonitor
    mocks: AwsMocks
    logs: LogCapture
    warnings: list = field(default_factory=list)

    @property
    def resources(self) -> list[Registered]:
        return self.monitor.registered

    def of_type(self, typ: str) -> list[Registered]:
        return [r for r in self.resources if r.type == typ]

    def one(self, typ: str, name: str) -> Registered:
        found = [r for r in self.of_type(typ) if r.name == name]
        assert len(found) == 1, (typ, name, [r.name for r in self.of_type(typ)])
        return found[0]


_LOOP: list[asyncio.AbstractEventLoop] = []


def use_loop() -> None:
    """Make the synthesis's event loop current again: the outputs' futures live on it, and a
    test run elsewhere in the session (`asyncio.run`) may have left no current loop."""
    asyncio.set_event_loop(_LOOP[0])


def check(fn, *outputs) -> None:
    """Resolve the outputs and run `fn` on their values, failing if it never ran.

    `Output.apply` skips its callback while a value is unknown, and an assertion in a
    callback nobody awaits is never checked: `@pulumi.runtime.test` awaits it, and
    `ran` proves the callback executed.
    """
    ran: list[bool] = []
    use_loop()

    def inner(values):
        fn(*values)
        ran.append(True)

    @pulumi.runtime.test
    def resolve():
        return pulumi.Output.all(*outputs).apply(inner)

    resolve()
    assert ran, "the check never ran: one of its outputs did not resolve"


def fake_bundle(path: Path) -> Path:
    """A stand-in for build/lambda.zip: the unit tests check the stack, not the bundle
    (tests/scripts/test_lambda_zip.py builds and checks the real one)."""
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("weir/__init__.py", "")
    return path


def synthesize(bundle: Path, config: dict[str, str] | None = None) -> Synth:
    _LOOP[:] = [asyncio.new_event_loop()]
    use_loop()
    mocks = AwsMocks()
    monitor = RecordingMonitor(mocks)
    logs = LogCapture()
    logger = logging.getLogger("weir.tests.pulumi")
    logger.addHandler(logs)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=STACK, preview=False, logger=logger, monitor=monitor)
    pulumi.runtime.set_all_config({**CONFIG, f"{PROJECT}:lambdaZip": str(bundle), **(config or {})})
    holder: dict = {}

    @pulumi.runtime.test
    def run():
        spec = importlib.util.spec_from_file_location("weir_metrics_program", PROGRAM)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        holder["program"] = module
        return pulumi.Output.all(*module.outputs.values())

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return Synth(holder["program"], monitor, mocks, logs, [str(w.message) for w in caught])


def parse_policy(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value
