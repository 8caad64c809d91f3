"""`weir serve` reads the variables the README names (METRICS_BUCKET, ALERT_TOPIC_ARN: the
names the `exporter` and `alerts` functions read too), and without boto3 says what to install
instead of a traceback. Run as a person runs it: `python -m weir serve`, in a process of its
own, with boto3 and botocore made unimportable (failure injection)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.helpers import ROOT, free_port

WITHOUT_BOTO3 = ("import sys; sys.modules['boto3'] = None; sys.modules['botocore'] = None; "
                 "from weir.cli import main; main()")


def serve_without_boto3(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("METRICS_BUCKET", "ALERT_TOPIC_ARN")}
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_BOTO3, "serve", "--port", str(free_port()), "--data-dir", str(tmp_path / "d"),
         "--no-watch"],
        env={**clean, "PYTHONPATH": str(ROOT / "src"), **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("variable, value, message", [
    ("METRICS_BUCKET", "env-bucket", "exporting to the S3 bucket 'env-bucket' needs boto3"),
    ("ALERT_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:ops",
     "publishing alerts to the SNS topic 'arn:aws:sns:us-east-1:123456789012:ops' needs boto3"),
])
def test_the_variables_the_readme_names_are_read_and_boto3_is_named(tmp_path, variable, value, message):
    done = serve_without_boto3(tmp_path, **{variable: value})
    assert done.returncode == 1, done.stderr
    assert message in done.stderr and "pip install 'weir[aws]'" in done.stderr and variable in done.stderr
    assert "Traceback" not in done.stderr
