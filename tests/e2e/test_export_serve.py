"""`weir serve` exports on its own: the last closed hour at start, and every hour missed while
stopped; `weir export` reads the same folder while the server runs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from tests.helpers import ROOT, WeirProcess
from tests.metrics.test_export_service import as_points, read_hour, wanted
from weir.backends.local.objects import FolderObjectStore
from weir.metrics import export
from weir.metrics.export_schedule import latest_due_hour
from weir.metrics.timeutil import NS

H = export.HOUR_NS


def wait_for(objects, key: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if key in objects.list(key.rpartition("/")[0] + "/"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{key} did not appear")


def points_for(hour: int, n: int, seed: int) -> list[dict]:
    return [{"name": "disk", "dimensions": {"host": f"h{i}"}, "timestamp": hour + (i * 7 + seed) * NS,
             "value": i * 0.25 + seed} for i in range(n)]


def test_serve_catches_up_missed_hours_after_a_restart(tmp_path):
    data = tmp_path / "data"
    objects = FolderObjectStore(data / "exports")
    due = latest_due_hour(time.time_ns(), 300 * NS)
    server = WeirProcess(data)
    server.start()
    try:
        wait_for(objects, export.manifest_key(due))  # a fresh folder: the last closed hour, at start
        early, late = points_for(due - 2 * H, 50, 1), points_for(due - H, 30, 2)
        reply = server.http.post("/metrics", {"metrics": early + late})
        assert reply.status == 200 and reply.json()["accepted"] == 80, reply
        # `weir export` beside the running server: the points are in its log, not yet flushed
        out = tmp_path / "cli-out"
        cli = subprocess.run(
            [sys.executable, "-m", "weir", "export", "--hour", export.format_hour(due - 2 * H),
             "--data-dir", str(data), "--out", str(out)],
            env={"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, timeout=60,
        )
        assert cli.returncode == 0, cli.stderr
        assert as_points(read_hour(FolderObjectStore(out), due - 2 * H)[1]) == wanted(early, due - 2 * H)
    finally:
        server.stop()
    # pretend the server had been stopped since before due - 2h
    with sqlite3.connect(data / "metrics.db") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (str(due - 3 * H), "export.last_hour " + objects.url))
    assert export.manifest_key(due - 2 * H) not in objects.list("metrics/")
    server = WeirProcess(data)
    server.start()
    try:
        wait_for(objects, export.manifest_key(due - 2 * H))
        wait_for(objects, export.manifest_key(due - H))
    finally:
        server.stop()
    assert as_points(read_hour(objects, due - 2 * H)[1]) == wanted(early, due - 2 * H)
    assert as_points(read_hour(objects, due - H)[1]) == wanted(late, due - H)
    with sqlite3.connect(data / "metrics.db") as db:
        mark = db.execute("SELECT value FROM meta WHERE key = ?", ("export.last_hour " + objects.url,)).fetchone()
    assert int(mark[0]) >= due


def test_no_exports_turns_the_scheduler_off(tmp_path):
    data = tmp_path / "data"
    server = WeirProcess(data, "--no-exports")
    server.start()
    try:
        time.sleep(1.0)
    finally:
        server.stop()
    assert not (data / "exports").exists()
