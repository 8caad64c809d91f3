"""kill -9 between two slices of a flush (backends/sqlite/flush.py): every acknowledged point
is back after a restart, once.

A flush writes FLUSH_SLICE (20,000) series per transaction and deletes the log rows only in
the last, so a kill between slices leaves chunk rows whose points are also still in the
log: the restart replays them into the head and the next flush writes them again. The
test sends more series than three slices hold, stops the server (the shutdown flushes),
polls the folder read-only and kills -9 once some slices are written and the log is still
there, and checks afterwards that it was so.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

from tests.helpers import WeirProcess

SERIES = 70_000  # four slices of 20,000
BATCH = 10_000


def counts(db: Path) -> tuple[int, int]:
    """(series with chunk rows, log rows) as another process sees the folder."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        chunks = conn.execute("SELECT count(DISTINCT series_id) FROM chunks").fetchone()[0]
        return chunks, conn.execute("SELECT count(*) FROM log").fetchone()[0]
    finally:
        conn.close()


def totals(server: WeirProcess, base: int, **dims: str) -> tuple[int, float]:
    """(count, sum) of the metric's points over the hour they are in."""
    params = {"start": str(base), "end": str(base + 3600), "period": "3600", "stat": "count,sum"}
    params.update({f"dim.{k}": v for k, v in dims.items()})
    r = server.http.get("/metrics/sliced", params=params)
    assert r.status == 200, r
    points = [p for g in r.json()["groups"] for p in g["datapoints"]]
    return sum(p["count"] for p in points), sum(p["sum"] for p in points)


def test_kill_between_flush_slices_loses_no_acknowledged_point(tmp_path):
    data = tmp_path / "data"
    base = (int(time.time()) // 3600 - 3) * 3600  # a fixed past hour: no query straddles a boundary
    server = WeirProcess(data)
    server.start()
    batch = []
    for i in range(SERIES):
        for k in range(2):  # two points a series; every value distinct, whole numbers: sums are exact
            batch.append({"name": "sliced", "value": 2 * i + k, "timestamp": base + 60 * k,
                          "dimensions": {"host": f"h{i}"}})
        if len(batch) >= BATCH or i == SERIES - 1:
            r = server.http.post("/metrics", {"metrics": batch})
            assert r.status == 200 and r.json()["accepted"] == len(batch), r
            batch = []
    want = (2 * SERIES, float(sum(range(2 * SERIES))))
    assert totals(server, base) == want  # all in the head, acknowledged

    db = data / "metrics.db"
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)  # the shutdown flushes the head, slice by slice
    deadline = time.monotonic() + 300  # bounds a failure only
    while True:
        assert time.monotonic() < deadline, "the shutdown flush wrote no slice"
        written, log_rows = counts(db)
        if written:
            server.kill()
            break
        time.sleep(0.005)
    written, log_rows = counts(db)
    assert 0 < written < SERIES and log_rows > 0, (
        f"the kill did not land between slices ({written} series written, {log_rows} log rows): nothing was tested")

    server.start()  # replays the log: the written slices' points are in chunks and in the head
    try:
        assert totals(server, base) == want
        assert totals(server, base, host="h0") == (2, 1.0)
        assert totals(server, base, host=f"h{SERIES - 1}") == (2, float(4 * SERIES - 3))
    finally:
        server.stop()
    assert counts(db) == (SERIES, 0)  # the clean stop wrote every series, duplicates and all
    server.start()
    try:
        assert totals(server, base) == want
    finally:
        server.stop()
