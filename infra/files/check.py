"""Synthesize the files stack in plain Python and scan the template (`make check-iac`).

Used by the tests too, so that both check the same way: one synthesis, then cfn-lint and
checkov from their own venv (their pins clash with pulumi's). The exit code is non-zero
when a scanner reports a finding that the template does not suppress with a reason.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
STACK = "WeirFiles-{environment}"


@dataclass
class Synth:
    template_path: Path
    template: dict
    stdout: str
    stderr: str


def synthesize(out_dir: Path, *, environment: str = "test", bundle: bool = False, timeout: float = 600) -> Synth:
    context: dict = {"environment": environment}
    if not bundle:
        context["aws:cdk:bundling-stacks"] = []  # hash the source folder instead of pip-installing
    env = {
        **os.environ,
        "CDK_OUTDIR": str(out_dir),
        "CDK_CONTEXT_JSON": json.dumps(context),
        # Node 20 runs aws-cdk-lib with a notice about its own age; it is not about this app.
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    }
    env.pop("JSII_DEPRECATED", None)  # keep CDK's own deprecation warnings visible
    proc = subprocess.run([sys.executable, str(HERE / "app.py")], cwd=HERE, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"synthesis failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    path = out_dir / f"{STACK.format(environment=environment)}.template.json"
    return Synth(path, json.loads(path.read_text()), proc.stdout, proc.stderr)


def cfn_lint(bin_dir: Path, template: Path) -> tuple[int, str]:
    proc = subprocess.run([str(bin_dir / "cfn-lint"), "--format", "parseable", str(template)],
                          capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def checkov(bin_dir: Path, template: Path) -> dict:
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    proc = subprocess.run(
        [str(bin_dir / "checkov"), "-f", str(template), "--framework", "cloudformation", "--skip-download",
         "--output", "json", "--soft-fail"],
        capture_output=True, text=True, timeout=900, env=env,
    )
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise RuntimeError(f"checkov gave no JSON report ({proc.returncode}):\n{proc.stderr[-4000:]}") from None
    if isinstance(report, list):  # one report per framework
        report = next(r for r in report if r.get("check_type") == "cloudformation")
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scanners", type=Path, default=ROOT / ".venv-iac" / "bin",
                        help="bin folder of the scanner venv")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "cdk.out")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    synth = synthesize(args.out)
    print(f"synthesized {synth.template_path}")
    rc, out = cfn_lint(args.scanners, synth.template_path)
    print(f"cfn-lint: exit {rc}" + (f"\n{out}" if out.strip() else ", no findings"))
    report = checkov(args.scanners, synth.template_path)
    results = report.get("results", {})
    failed = results.get("failed_checks", [])
    for c in failed:
        print(f"checkov FAILED {c['check_id']} {c['resource']}: {c.get('check_name', '')}")
    for c in results.get("skipped_checks", []):
        print(f"checkov skipped {c['check_id']} {c['resource']}: {c.get('suppress_comment', '')}")
    print(f"checkov: {report.get('summary')}")
    return 1 if rc != 0 or failed else 0


if __name__ == "__main__":
    sys.exit(main())
