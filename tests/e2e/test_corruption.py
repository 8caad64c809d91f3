"""Damaged files in the data folder are found (issue 18, bug 4).

Each case damages a folder written by a real `weir serve` the way a disk or a person might,
then starts the server again: it must refuse to start with a message naming the damaged file
and the recovery commands (never a traceback, never a `/health` ok over stores that cannot
serve, never points dropped in silence). Damage that appears while the server runs (a chunk
of odd length) is a clear 503 naming the file, and `/health` turns to 503 with the reason.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, WeirProcess, free_port

BASE = int(time.time()) - 10 * 86400  # well inside the 30-day retention, and every batch in the past


def write_points(data_dir, *, batches: int = 10, per_batch: int = 1000, kill: bool = False,
                 first: int = 0) -> WeirProcess:
    """A folder with points; `kill` leaves them in the write-ahead log, else they are in chunks."""
    server = WeirProcess(data_dir, "--no-watch")
    server.start()
    for b in range(first, first + batches):
        pts = [{"name": "dmg", "value": float(i), "timestamp": BASE + b * per_batch + i,
                "dimensions": {"host": f"h{i % 4}"}} for i in range(per_batch)]
        r = server.http.post("/metrics", {"metrics": pts})
        assert r.status == 200 and r.json()["accepted"] == per_batch, r
    if kill:
        server.kill()
    else:
        server.stop()
    return server


def start_output(data_dir) -> tuple[int, str]:
    """Start `weir serve` on the folder; its exit code and output once it stops by itself."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "400"}
    proc = subprocess.run(
        [sys.executable, "-m", "weir", "serve", "--port", str(free_port()), "--data-dir", str(data_dir),
         "--no-watch"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr


def assert_refused(data_dir, file: str, *words: str) -> str:
    code, out = start_output(data_dir)
    flat = " ".join(out.split())
    assert code == 1, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
    assert str(data_dir / file) in flat.replace("\n", ""), out[-3000:]
    assert f"weir repair --data-dir {data_dir}" in flat and "weir doctor" in flat, out[-3000:]
    for w in words:
        assert w in flat, out[-3000:]
    return flat


def edit(db_path, sql: str, *args) -> None:
    conn = sqlite3.connect(db_path)
    try:
        conn.execute(sql, args)
        conn.commit()
    finally:
        conn.close()


def log_rows(db_path) -> list[tuple[int, bytes]]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("SELECT id, data FROM log ORDER BY id").fetchall()
    finally:
        conn.close()


def test_a_damaged_log_row_stops_the_start(tmp_path):
    data = tmp_path / "data"
    write_points(data, kill=True)
    rows = log_rows(data / "metrics.db")
    assert rows, "the kill left nothing in the log"
    log_id, blob = rows[len(rows) // 2]
    damaged = bytearray(blob)
    damaged[len(damaged) // 2] ^= 0x5A  # one byte of one value
    edit(data / "metrics.db", "UPDATE log SET data = ? WHERE id = ?", bytes(damaged), log_id)
    assert_refused(data, "metrics.db", f"log row {log_id}", "checksum")


def test_a_log_row_with_a_wrong_count_stops_the_start(tmp_path):
    data = tmp_path / "data"
    write_points(data, kill=True)
    log_id, blob = log_rows(data / "metrics.db")[0]
    damaged = bytearray(blob)
    count_at = 8 if blob[:4] == b"\xffWL1" else 0
    n = int.from_bytes(damaged[count_at:count_at + 4], "little")
    damaged[count_at:count_at + 4] = (n - 1).to_bytes(4, "little")
    edit(data / "metrics.db", "UPDATE log SET data = ? WHERE id = ?", bytes(damaged), log_id)
    assert_refused(data, "metrics.db", f"log row {log_id}")


def test_an_old_log_row_with_a_wrong_count_stops_the_start(tmp_path):
    """A row written before rows had checksums (`n | columns`) whose count is wrong."""
    data = tmp_path / "data"
    write_points(data, kill=True)
    log_id, _ = log_rows(data / "metrics.db")[0]
    n = 10
    old = (n + 3).to_bytes(4, "little") + b"\x00" * (24 * n)  # says 13 points, holds 10
    edit(data / "metrics.db", "UPDATE log SET data = ? WHERE id = ?", old, log_id)
    assert_refused(data, "metrics.db", f"log row {log_id}", "count")


def test_metrics_db_cut_in_half_stops_the_start(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=40, per_batch=5000)
    path = data / "metrics.db"
    assert not (data / "metrics.db-wal").exists() or (data / "metrics.db-wal").stat().st_size == 0
    size = path.stat().st_size
    assert size > 1_000_000
    os.truncate(path, size // 2)
    assert_refused(data, "metrics.db")


def test_a_malformed_series_row_stops_the_start(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=1)
    edit(data / "metrics.db", "UPDATE series SET dimensions = '{\"host\": ' WHERE rowid = "
                              "(SELECT min(rowid) FROM series)")
    assert_refused(data, "metrics.db", "series row")


def test_garbage_in_keys_db_stops_the_start(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=1)
    for suffix in ("-wal", "-shm"):
        (data / f"keys.db{suffix}").unlink(missing_ok=True)
    (data / "keys.db").write_bytes(os.urandom(8192))
    assert_refused(data, "keys.db")


def test_a_chunk_of_odd_length_stops_the_start(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=2)
    edit(data / "metrics.db", "UPDATE chunks SET ts = substr(ts, 1, length(ts) - 1) WHERE id = "
                              "(SELECT min(id) FROM chunks)")
    assert_refused(data, "metrics.db", "chunk")


def test_a_chunk_damaged_while_serving_is_a_clear_503_and_health_says_so(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=2)
    server = WeirProcess(data, "--no-watch")
    server.start()
    try:
        # 7-second periods: no rollup answers them, so the chunks themselves are read
        params = {"start": str(BASE), "end": str(BASE + 2000), "period": "7s", "stat": "count"}
        assert server.http.get("/metrics/dmg", params=params).status == 200
        edit(data / "metrics.db", "UPDATE chunks SET ts = substr(ts, 1, length(ts) - 1)")
        r = server.http.get("/metrics/dmg", params=params)
        assert r.status == 503, r
        message = r.json()["message"]
        assert str(data / "metrics.db") in message and "weir repair" in message, message
        health = server.http.get("/health")
        assert health.status == 503 and health.json()["status"] == "failed", health
        assert "metrics.db" in health.json()["reason"]
    finally:
        server.stop()


@pytest.mark.parametrize("store", ["alerts.db", "pushgroups.db", "files.db"])
def test_garbage_in_any_store_stops_the_start(tmp_path, store):
    data = tmp_path / "data"
    write_points(data, batches=1)
    for suffix in ("-wal", "-shm"):
        (data / f"{store}{suffix}").unlink(missing_ok=True)
    (data / store).write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    assert_refused(data, store)
