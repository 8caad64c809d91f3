"""kill -9 in the middle of ingest: every acknowledged point is back after a restart, and
no request is half-written (a batch is all there or not at all)."""

from __future__ import annotations

import threading
import time

from tests.helpers import Http, WeirProcess

CLIENTS = 4
POINTS = 100
BATCHES = 10_000  # at most, per client: the kill comes long before
PERIODS = 100_000  # the most periods one query may return (weir.metrics.query.service.MAX_PERIODS)


def test_sigkill_mid_stream_loses_no_acknowledged_point(tmp_path):
    server = WeirProcess(tmp_path / "data")
    server.start()
    # Every point a client could ever send (BATCHES x POINTS seconds, 11.6 days) is in the past
    # and within the 30-day retention, however many batches go out before the kill.
    base = int(time.time()) - 20 * 86400
    acked: dict[int, set[int]] = {c: set() for c in range(CLIENTS)}
    sent: dict[int, set[int]] = {c: set() for c in range(CLIENTS)}
    stop = threading.Event()

    def client(c: int) -> None:
        api = Http(server.port)
        for b in range(BATCHES):
            if stop.is_set():
                return
            body = {"metrics": [
                {"name": "crash", "value": b * POINTS + i, "timestamp": base + b * POINTS + i,
                 "dimensions": {"client": str(c)}}
                for i in range(POINTS)
            ]}
            sent[c].add(b)
            try:
                r = api.post("/metrics", body)
            except OSError:
                return
            if r.status == 200 and r.json()["accepted"] == POINTS:
                acked[c].add(b)

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 120  # bounds a failure only
    while sum(map(len, acked.values())) < 40 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    for t in threads:
        t.join()
    assert sum(map(len, acked.values())) >= 40, "the server acknowledged too little before the kill"

    server.start()
    try:
        for c in range(CLIENTS):
            end = base + (max(sent[c]) + 1) * POINTS
            stored = set()
            for start in range(base, end, PERIODS):  # one query per 100,000 one-second periods
                r = server.http.get("/metrics/crash", params={
                    "start": str(start), "end": str(min(end, start + PERIODS)), "period": "1s",
                    "stat": "count,sum", "dim.client": str(c)})
                assert r.status == 200, r
                stored |= {int(p["sum"]) for g in r.json()["groups"] for p in g["datapoints"]}
                assert all(p["count"] == 1 for g in r.json()["groups"] for p in g["datapoints"])
            by_batch: dict[int, int] = {}
            for v in stored:
                by_batch[v // POINTS] = by_batch.get(v // POINTS, 0) + 1
            missing = acked[c] - set(by_batch)
            assert not missing, f"client {c}: acknowledged batches lost: {sorted(missing)[:10]}"
            torn = {b: n for b, n in by_batch.items() if n != POINTS}
            assert not torn, f"client {c}: half-written batches: {torn}"
            assert set(by_batch) <= sent[c]
    finally:
        server.stop()
