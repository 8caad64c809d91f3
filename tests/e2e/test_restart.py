"""A clean stop packs the head into chunks; data is there after a restart, and the
restarted server answers /health while it recovers."""

from __future__ import annotations

import sqlite3
import time

from tests.helpers import WeirProcess


def test_sigterm_flushes_and_restart_keeps_everything(tmp_path):
    server = WeirProcess(tmp_path / "data")
    server.start()
    now = int(time.time())
    pts = [{"name": "restart", "value": i, "timestamp": now - 3000 + i, "dimensions": {"h": str(i % 3)}}
           for i in range(3000)]
    assert server.http.post("/metrics", {"metrics": pts}).status == 200
    server.stop()
    db = sqlite3.connect(tmp_path / "data" / "metrics.db")
    assert db.execute("SELECT count(*) FROM log").fetchone() == (0,)
    assert db.execute("SELECT sum(n) FROM chunks").fetchone() == (3000,)
    db.close()
    server.start()
    try:
        r = server.http.get("/metrics/restart", params={"start": "-2h", "period": "1h", "stat": "count,sum"}).json()
        assert sum(p["count"] for g in r["groups"] for p in g["datapoints"]) == 3000
        assert sum(p["sum"] for g in r["groups"] for p in g["datapoints"]) == sum(range(3000))
        assert {m["name"]: m["series"] for m in server.http.get("/metrics").json()["metrics"]} == {"restart": 3}
    finally:
        server.stop()
