"""Cold start of each Lambda module, as a ratio to creating a bare boto3 DynamoDB client.

    python bench/cold_start.py [--rounds 7] [--with-xray] [--no-gc-pause]

Each measurement is a fresh interpreter that times, from its first line: importing the
module and its first invocation (`api`: GET /health; `stream`: a one-record batch that
needs no DynamoDB call), which builds the services and their boto3 client. `alerts` and
`exporter` make AWS calls on every invocation (there is no server here), so theirs is the
import plus building what the first invocation builds before its first call: the services
with their DynamoDB and SNS (`alerts`) or S3 (`exporter`) clients. The baseline is
`import boto3; boto3.client("dynamodb")` timed the same way. Interpreter start-up is
the same for both and left out. Weir's bytecode is written first, as the bundle ships
it. The Lambda bundle has no X-Ray SDK, so it is blocked here
too unless --with-xray. AWS_LAMBDA_FUNCTION_NAME is set, as the Lambda runtime sets it,
so the functions pause the garbage collector during their cold start
(`weir.lambdas.coldstart`); --no-gc-pause leaves it unset to show that pause's share.
Rounds alternate the three so they share the machine's noise; the
fastest round of each is reported (other processes only ever add time), or the median
with --stat median. Target: each module within 1.25x of the baseline.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENT = ROOT / "tests" / "events" / "apigw" / "get_health.json"

PRELUDE = """
import time
t0, c0 = time.perf_counter(), time.process_time()
import sys
if {block}:
    sys.modules["aws_xray_sdk"] = None
class LambdaContext:
    function_name = "weir-bench"; function_version = "$LATEST"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:weir-bench"; aws_request_id = "bench"
    def get_remaining_time_in_millis(self): return 30000
"""
BASELINE = """
import boto3
boto3.client("dynamodb")
"""
# The clients `alerts` and `exporter` cannot do without, for a like-for-like second ratio
# (an S3 client alone costs about a quarter of the DynamoDB baseline: its model is large).
BASELINE_SNS = BASELINE + 'boto3.client("sns")\n'
BASELINE_S3 = BASELINE + 'boto3.client("s3")\n'
OWN_BASELINE = {"alerts": "boto3 + sns", "exporter": "boto3 + s3"}
API = """
import json
from weir.lambdas import api
t_import = time.perf_counter()
r = api.handler(json.load(open({event!r})), LambdaContext())
assert r["statusCode"] == 200, r
"""
STREAM = """
from weir.lambdas import stream
t_import = time.perf_counter()
event = {{"Records": [{{"eventID": "1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
  "awsRegion": "us-east-1", "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x",
  "dynamodb": {{"Keys": {{"pk": {{"S": "pend#cpu"}}, "timestamp": {{"N": "0"}}}}, "SequenceNumber": "1",
  "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES"}}}}]}}
r = stream.handler(event, LambdaContext())
assert r == {{"batchItemFailures": []}}, r
"""
ALERTS = """
from weir.lambdas import alerts
t_import = time.perf_counter()
from weir.lambdas import runtime
s = runtime.alerts()
assert s.engine is not None and "sns" in s.dispatcher.notifiers
"""
EXPORTER = """
from weir.lambdas import exporter
t_import = time.perf_counter()
from weir.lambdas import runtime
s = runtime.exporter()
assert s.scheduler is not None and s.scheduler.service.target.backend == "s3"
"""
FUNCTIONS = ("api", "stream", "alerts", "exporter")
EPILOGUE = """
t1, c1 = time.perf_counter(), time.process_time()
print(json.dumps({"total": t1 - t0, "cpu": c1 - c0, "import": globals().get("t_import", t1) - t0}))
"""


def run(body: str, block: bool, gc_pause: bool = True) -> dict:
    code = PRELUDE.format(block=block) + body + "\nimport json" + EPILOGUE
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("AWS_")},
        **({"AWS_LAMBDA_FUNCTION_NAME": "weir-bench"} if gc_pause else {}),
        "AWS_DEFAULT_REGION": "us-east-1",  # what the Lambda runtime provides
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "METRICS_TABLE": "weir-metrics-bench",
        "SERIES_TABLE": "weir-series-bench",
        "ALERT_CONFIG_TABLE": "weir-alerts-bench",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:weir-alerts-bench",
        "METRICS_BUCKET": "weir-exports-bench",
        "PYTHONPATH": str(ROOT / "src"),
        "POWERTOOLS_METRICS_NAMESPACE": "Weir",
    }
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    import compileall

    # The bundle ships bytecode (scripts/lambda_zip.py); write it for src/ too, since
    # PYTHONDONTWRITEBYTECODE would otherwise make every run compile Weir from source.
    compileall.compile_dir(str(ROOT / "src" / "weir"), quiet=1)
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--with-xray", action="store_true", help="let the functions import the X-Ray SDK")
    ap.add_argument("--no-gc-pause", action="store_true",
                    help="run the functions as outside Lambda, where they never pause the garbage collector")
    ap.add_argument("--stat", choices=["min", "median"], default="min",
                    help="min resists a busy machine best (default); median for a quiet one")
    args = ap.parse_args()
    block = not args.with_xray
    cases = {"boto3 baseline": BASELINE, "boto3 + sns": BASELINE_SNS, "boto3 + s3": BASELINE_S3,
             "api": API.format(event=str(EVENT)), "stream": STREAM.format(), "alerts": ALERTS, "exporter": EXPORTER}
    runs: dict[str, list[dict]] = {k: [] for k in cases}
    for _ in range(args.rounds):
        for name, body in cases.items():
            runs[name].append(run(body, block, not args.no_gc_pause))
    pick = min if args.stat == "min" else statistics.median
    med = {k: pick(r["total"] for r in v) for k, v in runs.items()}
    cpu = {k: pick(r["cpu"] for r in v) for k, v in runs.items()}
    base, base_cpu = med["boto3 baseline"], cpu["boto3 baseline"]
    for name, v in runs.items():
        imp = pick(r["import"] for r in v)
        print(f"{name:15s} import {imp * 1000:6.1f} ms | import + first call {med[name] * 1000:6.1f} ms wall, "
              f"{cpu[name] * 1000:6.1f} ms cpu | ratio {med[name] / base:.2f} wall, {cpu[name] / base_cpu:.2f} cpu")
    worst = max(FUNCTIONS, key=lambda k: med[k])
    verdict = "within" if med[worst] / base <= 1.25 else "OVER"
    ratios = ", ".join(f"{f} {med[f] / base:.2f}x" for f in FUNCTIONS)
    cpus = ", ".join(f"{cpu[f] / base_cpu:.2f}x" for f in FUNCTIONS)
    own = ", ".join(f"{f} {med[f] / med[b]:.2f}x of `{b}`" for f, b in OWN_BASELINE.items())
    print(f"cold start ({args.stat} of {args.rounds}): {ratios} of `boto3.client('dynamodb')` "
          f"({base * 1000:.0f} ms wall; cpu ratios {cpus}; with their own clients: {own}); "
          f"{worst} {verdict} the 1.25x target")


if __name__ == "__main__":
    main()
