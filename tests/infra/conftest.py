from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# aws-cdk-lib runs on this machine's Node 20 and says so at every start; not our concern here.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _load_check():
    spec = importlib.util.spec_from_file_location("weir_files_check", ROOT / "infra" / "files" / "check.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def files_check():
    pytest.importorskip("aws_cdk", reason="aws-cdk-lib is in the `infra` extra; `make test` installs it")
    return _load_check()


@pytest.fixture(scope="session")
def files_synth(files_check, tmp_path_factory):
    """The files stack, synthesized once per test session (environment `test`)."""
    return files_check.synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def files_template(files_synth):
    from aws_cdk.assertions import Template

    return Template.from_json(files_synth.template)


@pytest.fixture(scope="session")
def iac_bin():
    """The scanners' own venv, created with `make iac-venv` when missing."""
    proc = subprocess.run(["make", "-s", "iac-venv"], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    bin_dir = ROOT / ".venv-iac" / "bin"
    if proc.returncode != 0 or not (bin_dir / "checkov").exists():
        pytest.skip(
            f"cannot create the scanner venv with `make iac-venv` (exit {proc.returncode}): "
            f"{(proc.stderr or proc.stdout)[-500:]}"
        )
    return bin_dir


@pytest.fixture(scope="session")
def metrics_stack(tmp_path_factory):
    """infra/metrics run once per session under Pulumi's mocks (tests/infra/pulumi_stack.py)."""
    pytest.importorskip("pulumi_aws", reason="pulumi-aws is in the `infra` extra; `make test` installs it")
    from tests.infra import pulumi_stack

    return pulumi_stack.synthesize(pulumi_stack.fake_bundle(tmp_path_factory.mktemp("bundle") / "lambda.zip"))
