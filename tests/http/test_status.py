"""GET /status over a real `weir serve`: what it holds, how fast it ingests, its limits."""

from __future__ import annotations

import time

from tests.conftest import FakeClock
from tests.helpers import WeirProcess
from weir.http.status import StatusService, folder_bytes
from weir.metrics import limits

T0 = 1_700_000_000  # whole hours in the past: no retention or boundary surprises


def test_status_of_a_serving_weir(tmp_path):
    proc = WeirProcess(tmp_path / "data", "--retention", "3650d")
    proc.start()
    try:
        api = proc.http
        before = api.get("/status").json()
        assert before["series"] == 0 and before["points_ingested"] == 0 and before["points_held"] == 0
        points = [{"name": "cpu", "value": i, "timestamp": T0 + i, "dimensions": {"host": f"h{i % 3}"}}
                  for i in range(30)]
        points += [{"name": "mem", "value": 1, "timestamp": T0}]
        assert api.post("/metrics", {"metrics": points}).json()["accepted"] == 31
        s = api.get("/status").json()
        assert (s["metrics"], s["series"], s["points_ingested"]) == (2, 4, 31)
        deadline = time.monotonic() + 60  # points held and disk used are cached for 5 s
        while s["points_held"] != 31 and time.monotonic() < deadline:
            time.sleep(0.2)
            s = api.get("/status").json()
        assert s["points_held"] == 31
        assert s["ingest_rate"] > 0 and s["uptime_seconds"] > 0 and s["ready"] is True
        assert s["backend"] == "sqlite" and s["retention_seconds"] == 3650 * 86400 and s["disk_bytes"] > 0
        assert s["exports"]["destination"].startswith("file://") and s["exports"]["consecutive_failures"] == 0
        assert s["alert_rules"] == 0
        lim = s["limits"]
        assert lim["max_points_per_request"] == limits.MAX_POINTS_PER_REQUEST and lim["api_keys"] is False
        assert lim["rate_limit_per_second"] is None and lim["open_reads"] is False
    finally:
        proc.stop()


def test_ingest_rate_is_measured_over_about_a_minute():
    class Ingest:
        accepted_total = 0

    class Store:
        backend = "memory"

        def metric_names(self):
            return {}

        def ready(self):
            return True

    class Query:
        retention_ns = 86400 * 10**9

    class Services:
        store, ingest, query, limiter, auth, alerts = Store(), Ingest(), Query(), None, None, None

    clock = FakeClock(1000.0)
    sv = StatusService(Services(), environment="test", clock=clock)  # type: ignore[arg-type]
    for second in range(1, 181):  # 10 points/s for 2 minutes, then 100/s for a minute
        clock.t += 1
        Services.ingest.accepted_total += 10 if second <= 120 else 100
        rate = sv.status().ingest_rate
    assert 95 <= rate <= 100
    assert sv.status().points_held is None and sv.status().disk_bytes is None


def test_folder_bytes_leaves_out_the_watched_folder(tmp_path):
    (tmp_path / "a.db").write_bytes(b"x" * 10)
    (tmp_path / "bucket" / "deep").mkdir(parents=True)
    (tmp_path / "bucket" / "deep" / "big").write_bytes(b"x" * 1000)
    assert folder_bytes(tmp_path, skip=tmp_path / "bucket") == 10
    assert folder_bytes(tmp_path) == 1010
