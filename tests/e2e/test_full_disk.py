"""A real `weir serve` on a disk that fills up (issue 18, bug 9): every failing request and
the shutdown flush say the disk is full (not "cannot rollback - no transaction is
active"), and every acknowledged point is there after a restart.

The disk is a 3 MB tmpfs mounted in a private mount namespace (`unshare -rm`: a user
namespace, so no root needed where the kernel allows those); the server runs inside, and
when it exits the folder is copied out for the restart. Where namespaces are not allowed the
test is skipped; tests/backends/sqlite/test_full_disk.py covers the same paths everywhere.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import ROOT, Http, WeirProcess, free_port


def _namespaces_allowed() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /mnt"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not _namespaces_allowed(), reason="no user/mount namespaces to mount a small tmpfs")


def _serve_on_tmpfs(mnt, saved, port: int, log) -> subprocess.Popen:
    serve = [sys.executable, "-m", "weir", "serve", "--port", str(port), "--data-dir", f"{mnt}/data", "--no-watch"]
    script = (
        f"mount -t tmpfs -o size=3m tmpfs {shlex.quote(str(mnt))} || exit 97\n"
        f"{shlex.join(serve)} & child=$!\n"
        "trap 'kill -TERM $child' TERM\n"
        "wait $child; wait $child; rc=$?\n"  # the first wait is cut short by the trap
        f"cp -a {shlex.quote(str(mnt))}/data {shlex.quote(str(saved))}\n"
        "exit $rc\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    return subprocess.Popen(["unshare", "-rm", "sh", "-c", script], env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_healthy(http: Http, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, "weir serve exited at start-up"
        try:
            if http.get("/health").status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise TimeoutError("weir serve did not answer /health within 60 s")


def test_full_disk_is_reported_as_such_and_loses_nothing(tmp_path):
    mnt, saved = tmp_path / "mnt", tmp_path / "saved"
    mnt.mkdir()
    port = free_port()
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = _serve_on_tmpfs(mnt, saved, port, log)
        http = Http(port)
        try:
            _wait_healthy(http, proc)
            base = int(time.time()) - 20 * 86400
            acked, refused = 0, None
            for b in range(5000):  # 3 MB fill long before
                pts = [{"name": "full", "value": 1, "timestamp": base + b * 100 + i,
                        "dimensions": {"pad": "x" * 40, "b": str(b % 50)}} for i in range(100)]
                r = http.post("/metrics", {"metrics": pts})
                if r.status != 200:
                    refused = r
                    break
                acked += 100
            assert refused is not None, "the disk never filled"
            assert refused.status == 503 and "full" in refused.json()["message"], refused
            for i in range(1000):  # the last few pages too, one point at a time
                r = http.post("/metrics", {"metrics": [{"name": "full", "value": 1, "timestamp": base - i - 1}]})
                if r.status != 200:
                    break
                acked += 1
            assert r.status == 503 and "full" in r.json()["message"], r
            # The Pushgateway: points and group together, and a PUT of no points (the group only).
            for body in ("pushed_metric 1\n", ""):
                r = http.request("PUT", "/metrics/job/fill/instance/i1", body)
                assert r.status == 503, r
                message = r.json()["message"]
                assert "full" in message and "cannot rollback" not in message, message
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)
    said = log_path.read_text(errors="replace")
    assert "cannot rollback" not in said
    assert "Traceback" not in said, said[-3000:]
    assert "full" in said.split("Shutting down", 1)[-1], said[-3000:]  # the last flush says why it failed

    server = WeirProcess(saved)
    server.start()
    try:
        r = server.http.get("/metrics/full", params={"start": str(base), "end": str(base + 5000 * 100),
                                                     "period": "1d", "stat": "count"})
        assert r.status == 200, r
        assert sum(p["count"] for g in r.json()["groups"] for p in g["datapoints"]) == acked
    finally:
        server.stop()
