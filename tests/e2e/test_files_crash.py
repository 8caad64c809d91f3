"""kill -9 during a burst of file events: after a restart the catalog matches the folder,
every record whole (the startup reconcile indexes what changed while Weir was down)."""

from __future__ import annotations

import os
import threading
import time

from tests.helpers import WeirProcess


def listing(api) -> dict[str, int]:
    out, cursor = {}, None
    while True:
        params = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
        body = api.get("/files", params=params).json()
        out.update({f["key"]: f.get("size") for f in body["files"]})
        cursor = body.get("next_cursor")
        if not cursor:
            return out


def on_disk(root) -> dict[str, int]:
    found = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            found[os.path.relpath(path, root).replace(os.sep, "/")] = os.path.getsize(path)
    return found


def test_sigkill_during_a_burst_then_restart_converges(tmp_path):
    data = tmp_path / "data"
    bucket = data / "bucket"
    bucket.mkdir(parents=True)
    server = WeirProcess(data)
    server.start()
    stop = threading.Event()

    def burst() -> None:
        for i in range(3000):
            if stop.is_set():
                return
            d = bucket / f"d{i % 7}"
            d.mkdir(exist_ok=True)
            (d / f"f{i}.bin").write_bytes(b"x" * (i % 97))
            if i % 5 == 4:
                (bucket / f"d{(i - 4) % 7}" / f"f{i - 4}.bin").unlink()

    writer = threading.Thread(target=burst)
    writer.start()
    time.sleep(0.8)
    server.kill()
    writer.join()  # the burst finishes while Weir is down
    stop.set()

    server.start()
    try:
        want = on_disk(bucket)
        deadline = time.monotonic() + 120  # bounds a failure only: 3,000 files on a loaded runner
        got = listing(server.http)
        while got != want and time.monotonic() < deadline:
            time.sleep(0.2)
            got = listing(server.http)
        assert got == want, (len(got), len(want), sorted(set(got) ^ set(want))[:10])
    finally:
        server.stop()
