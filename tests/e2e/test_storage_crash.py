"""kill -9 while a data folder is being upgraded and while hours are being finalised
(rolled up): every acknowledged point is still readable after a restart.

Finalising rewrites an hour's chunks and writes its rollups in one transaction per hour,
so a kill can land between any two of them; the test polls the folder (read-only) and
kills only once some of the work is done and some is not, and checks that it was so.
"""

from __future__ import annotations

import calendar
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.backends.sqlite.v1_folder import write_v1
from tests.helpers import ROOT, WeirProcess
from weir.metrics.series import make_series

HOSTS = 300
HOURS = 40
NS = 10**9


def pending(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM pending").fetchone()[0]
    except sqlite3.OperationalError:  # the upgrade has not created the table yet
        return -1
    finally:
        conn.close()


def kill_midway(db: Path, kill, label: str) -> None:
    """Wait until the pending pairs have gone down but not to zero, then kill -9."""
    first = None
    deadline = time.monotonic() + 120  # bounds a failure only
    while time.monotonic() < deadline:
        n = pending(db)
        if n > 0 and first is None:
            first = n
        if first is not None and 0 < n < first:
            kill()
            left = pending(db)
            assert left > 0, f"{label}: finalising had finished before the kill; nothing was tested"
            return
        time.sleep(0.01)
    raise AssertionError(f"{label}: finalising never started (pending: {first})")


def check_every_point(server: WeirProcess, base: int, truth: dict[str, dict[int, float]]) -> None:
    """Per host, count and sum per minute over the whole range: the points are whole numbers,
    so sums are exact whichever resolution (raw or rollups) answers."""
    for host, points in truth.items():
        want: dict[int, tuple[int, float]] = {}
        for t, v in points.items():
            c, s = want.get(t - t % 3600, (0, 0.0))
            want[t - t % 3600] = (c + 1, s + v)
        r = server.http.get("/metrics/cpu", params={"start": str(base), "end": str(base + HOURS * 3600),
                                                     "period": "3600", "stat": "count,sum", "dim.host": host})
        assert r.status == 200, r
        got = {calendar.timegm(time.strptime(p["timestamp"], "%Y-%m-%dT%H:%M:%SZ")): (p["count"], p["sum"])
               for g in r.json()["groups"] for p in g["datapoints"]}
        assert got == want, host


def test_kill_during_an_upgrade_and_during_weir_migrate_loses_no_point(tmp_path):
    data = tmp_path / "data"
    base = (int(time.time()) // 3600 - HOURS - 1) * 3600
    series = [make_series("cpu", {"host": f"h{i}"}, "gauge", None) for i in range(HOSTS)]
    flush = {s.id: {(base + k * 60) * NS: float(i + k) for k in range(HOURS * 60)} for i, s in enumerate(series)}
    unflushed = [(series[0].id, (base + 30) * NS, 7.0)]  # a logged, acknowledged point not flushed
    write_v1(data / "metrics.db", series, [flush], unflushed)
    truth = {s.key.split('"')[1]: {t // NS: v for t, v in flush[s.id].items()} for s in series}
    truth["h0"][base + 30] = 7.0

    server = WeirProcess(data)
    server.start()  # upgrades on start, then rewrites the old chunks hour by hour
    kill_midway(data / "metrics.db", server.kill, "weir serve")

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    migrate = subprocess.Popen([sys.executable, "-m", "weir", "migrate", "--data-dir", str(data), "--no-vacuum"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill_migrate() -> None:
        migrate.kill()
        migrate.wait(30)

    kill_midway(data / "metrics.db", kill_migrate, "weir migrate")
    server.start()
    try:
        check_every_point(server, base, truth)
    finally:
        server.stop()


def test_kill_while_finalising_freshly_written_hours_loses_no_acknowledged_point(tmp_path):
    data = tmp_path / "data"
    base = (int(time.time()) // 3600 - HOURS - 1) * 3600
    server = WeirProcess(data)
    server.start()
    truth: dict[str, dict[int, float]] = {f"h{i}": {} for i in range(HOSTS)}
    batch = []
    for k in range(HOURS * 60):
        for i in range(HOSTS):
            batch.append({"name": "cpu", "value": i + k, "timestamp": base + k * 60, "dimensions": {"host": f"h{i}"}})
        if len(batch) >= 9_000 or k == HOURS * 60 - 1:
            r = server.http.post("/metrics", {"metrics": batch})
            assert r.status == 200 and r.json()["accepted"] == len(batch), r
            for p in batch:
                truth[p["dimensions"]["host"]][p["timestamp"]] = float(p["value"])
            batch = []
    server.stop()  # a clean stop flushes the head: the hours are pending, to be finalised
    server.start()
    kill_midway(data / "metrics.db", server.kill, "finalising")
    server.start()
    try:
        check_every_point(server, base, truth)
    finally:
        server.stop()
