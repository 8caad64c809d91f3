"""`weir backup` while a real `weir serve` takes writes, then `weir restore` into a fresh folder:
every point acknowledged before the backup began is there, every request is there whole or
not at all, and the restored folder checks clean and serves."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import datetime

from click.testing import CliRunner

from tests.helpers import ROOT, Http, WeirProcess
from weir.cli import main

WRITERS = 3
POINTS = 100
BASE = (int(time.time()) - 10 * 86400) // POINTS * POINTS  # one 100-second period per batch


def cli(*args: str) -> subprocess.CompletedProcess:
    """The `weir` command in a process of its own, as a person would run it beside the server."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300"}
    return subprocess.run([sys.executable, "-m", "weir", *args], env=env, capture_output=True, text=True, timeout=300)


def batches_stored(http: Http, writer: int, upto: int) -> dict[int, int]:
    """Batch number → points stored, for one writer."""
    r = http.get("/metrics/bk", params={"start": str(BASE), "end": str(BASE + upto * POINTS), "period": "100s",
                                        "stat": "count", "dim.w": str(writer)})
    assert r.status == 200, r
    return {(_epoch(p["timestamp"]) - BASE) // POINTS: p["count"]
            for g in r.json()["groups"] for p in g["datapoints"] if p.get("count")}


def _epoch(stamp: str) -> int:
    """Seconds since the epoch of a period start (RFC 3339, UTC)."""
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def test_backup_while_serving_then_restore(tmp_path):
    server = WeirProcess(tmp_path / "data", "--no-watch")
    server.start()
    acked: dict[int, list[int]] = {w: [] for w in range(WRITERS)}
    stop = threading.Event()

    def writer(w: int) -> None:
        api = Http(server.port)
        for b in range(5000):
            if stop.is_set():
                return
            pts = [{"name": "bk", "value": b, "timestamp": BASE + b * POINTS + i, "dimensions": {"w": str(w)}}
                   for i in range(POINTS)]
            r = api.post("/metrics", {"metrics": pts})
            if r.status == 200:
                acked[w].append(b)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 120
        while min(len(a) for a in acked.values()) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = {w: set(a) for w, a in acked.items()}
        made = cli("backup", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "data"))
        assert made.returncode == 0, made.stdout + made.stderr
        after = {w: len(a) for w, a in acked.items()}
        assert sum(after.values()) > sum(map(len, before.values())), "no write went on during the backup"
        again = CliRunner().invoke(main, ["backup", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "data")])
        assert again.exit_code == 1 and "not empty" in again.output
        busy = cli("restore", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "data"))
        assert busy.returncode == 1 and "in use by another Weir process" in busy.stderr, busy.stderr
    finally:
        stop.set()
        for t in threads:
            t.join()
        server.stop()
    assert {p.name for p in (tmp_path / "bk").iterdir()} >= {"metrics.db", "keys.db", "weir-backup.json"}

    restored = cli("restore", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "restored"))
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert cli("doctor", "--data-dir", str(tmp_path / "restored")).returncode == 0
    fresh = WeirProcess(tmp_path / "restored", "--no-watch")
    fresh.start()
    try:
        for w in range(WRITERS):
            stored = batches_stored(fresh.http, w, 5000)
            assert before[w] and before[w] <= set(stored), f"writer {w}: acknowledged before the backup, missing"
            assert all(n == POINTS for n in stored.values()), f"writer {w}: a batch is in the backup in part"
            assert set(stored) <= set(acked[w]) | {max(acked[w], default=0) + 1}
    finally:
        fresh.stop()
    # Restoring over a folder moves what it replaces aside, never deletes it.
    again = cli("restore", str(tmp_path / "bk"), "--data-dir", str(tmp_path / "restored"))
    assert again.returncode == 0, again.stderr
    assert list((tmp_path / "restored").glob("replaced-*/metrics.db"))


def test_backup_and_restore_print_folders_with_brackets_as_they_are(tmp_path):
    """Rich reads `[red]` as markup: the folders the messages name are printed as given."""
    data = tmp_path / "data[red]"
    server = WeirProcess(data, "--no-watch")
    server.start()
    try:
        assert server.http.post("/metrics", {"name": "bk", "value": 1}).status == 200
    finally:
        server.stop()
    dest = tmp_path / "backup[red]"
    done = cli("backup", str(dest), "--data-dir", str(data))
    assert done.returncode == 0, done.stderr
    assert f"backup of {data} in {dest}" in done.stdout
    restored = cli("restore", str(dest), "--data-dir", str(tmp_path / "restored[bold]"))
    assert restored.returncode == 0, restored.stderr
    assert f"into {tmp_path / 'restored[bold]'}" in restored.stdout
