"""`weir serve` exports on its own: the last closed hour at start, and every hour missed while
stopped; `weir export` reads the same folder while the server runs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from tests.helpers import ROOT, WeirProcess
from tests.metrics.export.test_service import as_points, read_hour, wanted
from weir.backends.folder.objects import FolderObjectStore
from weir.metrics.export import render as export
from weir.metrics.export.schedule import latest_due_hour
from weir.metrics.timeutil import NS

H = export.HOUR_NS
DELAY = 300 * NS


def wait_for(objects, key: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if key in objects.list(key.rpartition("/")[0] + "/"):
            return
        time.sleep(0.1)
    raise AssertionError(f"{key} did not appear")


def first_export(objects, due_before_start: int, timeout: float = 150) -> int:
    """The hour a server on a fresh folder exports at start: the last closed hour due when it
    started (`due_before_start` with the default delay), or a later one: the due hour turned
    meanwhile, or the server's own delay is shorter (test_export_changes: 2 s).
    The bound outlasts one failed pass and its 60 s retry (seen once on a loaded runner)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # up to the last closed hour: a server started with a shorter --export-delay exports
        # it at start (between :00 and :05 that is newer than DELAY's due hour)
        for hour in range(due_before_start, latest_due_hour(time.time_ns(), 0) + H, H):
            if export.manifest_key(hour) in objects.list(export.hour_prefix(hour)):
                return hour
        time.sleep(0.1)
    raise AssertionError(f"no export of {export.format_hour(due_before_start)} or later appeared")


def points_for(hour: int, n: int, seed: int) -> list[dict]:
    return [{"name": "disk", "dimensions": {"host": f"h{i}"}, "timestamp": hour + (i * 7 + seed) * NS,
             "value": i * 0.25 + seed} for i in range(n)]


def test_serve_catches_up_missed_hours_after_a_restart(tmp_path):
    data = tmp_path / "data"
    objects = FolderObjectStore(data / "exports")
    due_before = latest_due_hour(time.time_ns(), DELAY)
    server = WeirProcess(data)
    server.start()
    try:
        due = first_export(objects, due_before)  # a fresh folder: the last closed hour, at start
        assert not objects.list(export.hour_prefix(due - H)), "a fresh folder exported an older hour too"
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
