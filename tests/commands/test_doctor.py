"""`weir doctor` finds the damage `weir serve` refuses to start on, and `weir repair` salvages
what can be, says what it could not, keeps the damaged file aside, and the server then
starts and serves what was saved (issue 18, bug 4)."""

from __future__ import annotations

import os
import sqlite3

from click.testing import CliRunner

from tests.e2e.test_corruption import BASE, edit, log_rows, write_points
from tests.helpers import WeirProcess
from weir.cli import main


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def served(data, period: str = "1d") -> int:
    """How many `dmg` points a fresh server on the folder answers (`7s` periods: from the raw
    points alone; longer ones may come from rollups, which a repair keeps as well)."""
    server = WeirProcess(data, "--no-watch")
    server.start()
    try:
        r = server.http.get("/metrics/dmg", params={"start": str(BASE - 3600), "end": str(BASE + 400_000),
                                                    "period": period, "stat": "count"})
        assert r.status == 200, r
        return sum(p["count"] for g in r.json()["groups"] for p in g["datapoints"])
    finally:
        server.stop()


def test_doctor_on_a_sound_folder(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=2)
    result = run("doctor", "--data-dir", str(data))
    assert result.exit_code == 0, result.output
    assert "no damage found" in result.output
    assert "nothing to repair" in run("repair", "--data-dir", str(data)).output


def test_repair_a_damaged_log_row(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=10, kill=True)
    rows = log_rows(data / "metrics.db")
    log_id, blob = rows[4]
    bad = bytearray(blob)
    bad[-3] ^= 0xFF
    edit(data / "metrics.db", "UPDATE log SET data = ? WHERE id = ?", bytes(bad), log_id)

    found = run("doctor", "--data-dir", str(data))
    assert found.exit_code == 1 and f"write-ahead log row {log_id}" in found.output, found.output
    fixed = run("repair", "--data-dir", str(data))
    assert fixed.exit_code == 0, fixed.output
    flat = " ".join(fixed.output.split())
    assert f"not saved write-ahead log row {log_id} (about 1000 points)" in flat, fixed.output
    aside = list(data.glob("damaged-*/metrics.db"))
    assert len(aside) == 1 and (data / "metrics.db").exists()
    assert run("doctor", "--data-dir", str(data)).exit_code == 0
    assert served(data) == 9 * 1000  # every point of the nine sound rows, none of the damaged one


def test_repair_metrics_db_cut_in_half(tmp_path):
    data = tmp_path / "data"
    for session in range(4):  # each stop flushes its points into chunks after the earlier ones
        write_points(data, batches=10, per_batch=5000, first=session * 10)
    path = data / "metrics.db"
    os.truncate(path, path.stat().st_size // 2)
    fixed = run("repair", "--data-dir", str(data))
    assert fixed.exit_code == 0, fixed.output
    assert "not saved" in fixed.output, fixed.output
    conn = sqlite3.connect(path)
    kept = conn.execute("SELECT coalesce(sum(n), 0) FROM chunks").fetchone()[0]
    conn.close()
    assert 0 <= kept < 40 * 5000  # how much survives depends on where SQLite put the pages
    assert served(data, "7s") == kept  # every raw point kept is served
    assert kept <= served(data) <= 40 * 5000  # and hourly rollups may still count some lost ones


def test_repair_a_malformed_series_row_rebuilds_it_from_its_key(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=2)
    edit(data / "metrics.db", "UPDATE series SET dimensions = 'garbage' WHERE rowid = (SELECT min(rowid) FROM series)")
    fixed = run("repair", "--data-dir", str(data))
    assert fixed.exit_code == 0 and "rebuilt from its key" in " ".join(fixed.output.split()), fixed.output
    assert served(data) == 2 * 1000


def test_repair_a_chunk_of_odd_length(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=2)
    conn = sqlite3.connect(data / "metrics.db")
    chunk_id, n = conn.execute("SELECT id, n FROM chunks ORDER BY id LIMIT 1").fetchone()
    conn.close()
    edit(data / "metrics.db", "UPDATE chunks SET ts = substr(ts, 1, length(ts) - 1) WHERE id = ?", chunk_id)
    found = run("doctor", "--data-dir", str(data))
    assert found.exit_code == 1 and f"chunk {chunk_id}" in found.output, found.output
    fixed = run("repair", "--data-dir", str(data))
    assert f"chunk {chunk_id} ({n} points" in " ".join(fixed.output.split()), fixed.output
    assert served(data) == 2 * 1000 - n


def test_repair_garbage_keys_db_says_the_keys_are_gone(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=1)
    assert run("keys", "add", "ci", "--data-dir", str(data)).exit_code == 0
    for suffix in ("-wal", "-shm"):
        (data / f"keys.db{suffix}").unlink(missing_ok=True)
    (data / "keys.db").write_bytes(os.urandom(8192))
    found = run("doctor", "--data-dir", str(data))
    assert found.exit_code == 1 and "keys.db" in found.output
    fixed = run("repair", "--data-dir", str(data))
    flat = " ".join(fixed.output.split())
    assert fixed.exit_code == 0 and "no API key was saved" in flat, fixed.output
    assert run("doctor", "--data-dir", str(data)).exit_code == 0


def test_repair_refuses_while_a_server_runs(tmp_path):
    data = tmp_path / "data"
    write_points(data, batches=1)
    server = WeirProcess(data, "--no-watch")
    try:
        server.start()
        (data / "files.db").write_bytes(b"SQLite format 3\x00" + os.urandom(4096))  # damage under it
        result = run("repair", "--data-dir", str(data))
        assert result.exit_code == 1 and "in use by another Weir process" in result.output, result.output
        assert (data / "files.db").read_bytes()[:16] == b"SQLite format 3\x00"  # untouched
    finally:
        server.stop()


def test_repair_of_a_folder_without_stores_is_a_message_not_a_traceback(tmp_path):
    folder = tmp_path / "not[red]data"
    folder.mkdir()
    result = CliRunner().invoke(main, ["repair", "--data-dir", str(folder)])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit), result.output
    assert f"no Weir data in {folder}" in result.output and "--data-dir" in result.output
