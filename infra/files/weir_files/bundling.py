"""The Lambda bundle: the `weir` package plus its Lambda-side dependencies, built for
Python 3.12 on arm64 with pip's cross-platform wheels (no Docker needed). boto3 is not
bundled: the Lambda runtime provides it. uvicorn, click, rich and watchfiles (the local
front) are not needed by the function and stay out.

Tests synthesize with the context `aws:cdk:bundling-stacks = []`, which makes CDK skip
bundling and hash the source folder instead.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

SRC = Path(__file__).resolve().parents[3] / "src"
# The subset of pyproject's dependencies that the Lambda imports (a test checks it).
LAMBDA_REQUIREMENTS = ("msgspec>=0.18", "aws-lambda-powertools>=3.0")
PLATFORM = "manylinux2014_aarch64"
PYTHON = "3.12"


def pip_command(target: str) -> list[str]:
    return [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", target, "--platform", PLATFORM, "--implementation", "cp",
        "--python-version", PYTHON, "--only-binary=:all:", "--no-compile", *LAMBDA_REQUIREMENTS,
    ]


@jsii.implements(ILocalBundling)
class PipBundling:
    def try_bundle(self, output_dir: str, options: BundlingOptions) -> bool:
        try:
            subprocess.run(pip_command(output_dir), check=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"local bundling failed ({exc}); CDK falls back to Docker", file=sys.stderr)
            return False
        shutil.copytree(SRC / "weir", Path(output_dir) / "weir",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
        return True


def lambda_code() -> lambda_.Code:
    return lambda_.Code.from_asset(
        str(SRC),
        exclude=["**/__pycache__", "*.egg-info", "**/*.pyc"],
        bundling=BundlingOptions(
            image=DockerImage.from_registry("public.ecr.aws/sam/build-python3.12:latest-arm64"),
            command=["bash", "-c", "pip install -t /asset-output " + " ".join(f"'{r}'" for r in LAMBDA_REQUIREMENTS)
                     + " && cp -r /asset-input/weir /asset-output/"],
            local=PipBundling(),
        ),
    )
