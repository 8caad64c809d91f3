"""An exported hour whose points change is exported again, and a missing manifest is always
retried (issue 18, bug 10), against a real `weir serve`:

- points arriving late for an hour `weir serve` has exported reach that hour's export on
  their own, without anybody re-running `weir export`;
- `weir export --hour H` that stops half-way on an exported hour (it removes the manifest
  first, so nobody takes the hour as complete) no longer leaves the hour without a manifest
  for good: the server exports it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.e2e.test_export_serve import DELAY, first_export, points_for, wait_for
from tests.helpers import ROOT, WeirProcess
from weir.backends.folder.objects import FolderObjectStore
from weir.metrics.export import render as export
from weir.metrics.export.schedule import latest_due_hour


def manifest(objects, hour: int) -> dict | None:
    key = export.manifest_key(hour)
    if key not in objects.list(export.hour_prefix(hour)):
        return None
    return json.loads(objects.get(key))


def wait_rows(objects, hour: int, rows: int, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = manifest(objects, hour)
        if doc is not None and doc["rows"] == rows:
            return doc
        time.sleep(0.1)
    raise AssertionError(f"the export of {export.format_hour(hour)} never had {rows} rows: {manifest(objects, hour)}")


def test_late_points_and_a_stopped_re_export_reach_the_export(tmp_path):
    data = tmp_path / "data"
    objects = FolderObjectStore(data / "exports")
    due_before = latest_due_hour(time.time_ns(), DELAY)
    # A changed hour is exported again once quiet for the export delay: short here.
    server = WeirProcess(data, "--no-watch", "--export-delay", "2s")
    server.start()
    try:
        hour = first_export(objects, due_before)  # exported at start, still without points
        assert manifest(objects, hour)["rows"] == 0
        late = points_for(hour, 40, 3)
        assert server.http.post("/metrics", {"metrics": late}).json()["accepted"] == 40
        wait_rows(objects, hour, 40)  # exported again, by the server alone

        # `weir export --hour` on that hour stops half-way: here its first part cannot be
        # written (a folder stands where the file goes), after it removed the manifest.
        part = data / "exports" / export.part_key(hour, 0, "jsonl")
        part.unlink()
        (part / "obstacle").mkdir(parents=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        cli = subprocess.run([sys.executable, "-m", "weir", "export", "--hour", export.format_hour(hour),
                              "--data-dir", str(data)], env=env, capture_output=True, text=True, timeout=120)
        assert cli.returncode == 1, cli.stdout + cli.stderr
        assert manifest(objects, hour) is None
        (part / "obstacle").rmdir()
        part.rmdir()
        wait_for(objects, export.manifest_key(hour), timeout=180)  # the server retries it (it polls each minute)
        assert wait_rows(objects, hour, 40)["parts"][0]["rows"] == 40
    finally:
        server.stop()
