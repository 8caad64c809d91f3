"""A deployment as the e2e suite sees it: the stack's outputs, and what it can do with them.

The outputs file has the shape of `pulumi stack output --json --show-secrets`:
`api_url`, `api_key`, `region`, `export_bucket`, `functions` (function -> name), ...
`weir serve` run by the suite writes the same file, with `data_dir` and `export_dir`
instead of AWS names, so each scenario reads its endpoints from one place whichever way
Weir is deployed.

Exporting: on AWS the `exporter` function is invoked as EventBridge would (a scheduled
event) and the manifest is read from S3; locally `weir export --hour` runs beside the
server (the local stand-in for that function) and the manifest is read from the folder.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT, Http
from weir.metrics.export import render as export

OUTPUTS_ENV = "WEIR_STACK_OUTPUTS"


class OutputsError(Exception):
    """The outputs file cannot be used; the message says how to produce a good one."""


@dataclass
class StackOutputs:
    raw: dict
    path: Path

    @classmethod
    def load(cls, path: Path) -> StackOutputs:
        try:
            raw = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise OutputsError(f"{path}: not a JSON file of stack outputs ({exc})") from None
        if not isinstance(raw, dict) or not raw.get("api_url"):
            raise OutputsError(f"{path}: no api_url; write it with `pulumi stack output --json --show-secrets`")
        if raw.get("api_key") == "[secret]":
            raise OutputsError(f"{path}: api_key is hidden; write the file with `--show-secrets`")
        return cls(raw, Path(path))

    @property
    def api_url(self) -> str:
        return self.raw["api_url"].rstrip("/")

    @property
    def api_key(self) -> str | None:
        return self.raw.get("api_key")

    @property
    def is_local(self) -> bool:
        return "export_dir" in self.raw


def Api(outputs: StackOutputs) -> Http:  # noqa: N802 - reads as the class it stands for
    """HTTP(S) to the stack's API URL (a stage path included), with the stack's API key."""
    return Http(url=outputs.api_url, api_key=outputs.api_key)


class Exporter:
    """Run the hourly export for one hour and read its manifest and rows back."""

    def __init__(self, outputs: StackOutputs) -> None:
        self.outputs = outputs
        raw = outputs.raw
        if outputs.is_local:
            self.root = Path(raw["export_dir"])
        else:
            import boto3

            self.s3 = boto3.client("s3", region_name=raw["region"])
            self.lam = boto3.client("lambda", region_name=raw["region"])
            self.bucket, self.function = raw["export_bucket"], raw["functions"]["exporter"]

    def run(self, hour_ns: int) -> None:
        if self.outputs.is_local:
            proc = subprocess.run(
                [sys.executable, "-m", "weir", "export", "--hour", export.format_hour(hour_ns),
                 "--data-dir", self.outputs.raw["data_dir"], "--out", str(self.root)],
                env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr
            return
        event = {"version": "0", "id": f"e2e-{time.time_ns()}", "detail-type": "Scheduled Event",
                 "source": "aws.events", "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "region": self.outputs.raw["region"], "resources": [], "detail": {}}
        out = self.lam.invoke(FunctionName=self.function, Payload=json.dumps(event).encode())
        assert "FunctionError" not in out, out["Payload"].read()

    def read(self, key: str) -> bytes | None:
        if self.outputs.is_local:
            path = self.root / key
            return path.read_bytes() if path.exists() else None
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None

    def rows(self, hour_ns: int) -> list[dict] | None:
        """The exported rows of the hour, or None while its manifest is missing."""
        manifest = self.read(export.manifest_key(hour_ns))
        if manifest is None:
            return None
        doc = export.read_manifest(manifest)
        rows = []
        for part in doc["parts"]:
            data = self.read(part["key"])
            assert data is not None, part["key"]
            rows += [json.loads(line) for line in gzip.decompress(data).splitlines() if line]
        return rows


def write_outputs(path: Path, **values) -> Path:
    path.write_text(json.dumps(values, indent=2))
    return path
