"""`weir serve`'s lifecycle: a graceful stop closes every database it opened."""

from __future__ import annotations

import signal

from tests.helpers import WeirProcess


def test_a_stopped_server_leaves_every_database_closed(tmp_path):
    """SQLite deletes a database's `-wal` file when its last connection closes, so a file
    left behind names a connection the shutdown did not close (keys.db's was)."""
    data = tmp_path / "data"
    proc = WeirProcess(data)
    proc.start()
    try:
        assert proc.http.request("PUT", "/metrics/job/closing", body="pg_close 1\n").status == 200
        assert proc.http.get("/metrics").status == 200  # reads the key store
        assert {"keys.db-wal", "metrics.db-wal", "pushgroups.db-wal"} <= {p.name for p in data.glob("*-wal")}
    finally:
        proc.stop()
    # uvicorn re-raises the SIGTERM it caught once it has shut down (see LocalGateway)
    assert proc.proc is not None and proc.proc.returncode in (0, -signal.SIGTERM), proc.proc.returncode
    assert sorted(p.name for p in data.glob("*-wal")) == []
