"""One hanging webhook stalls no other target (issue 18, bug 3).

A real `weir serve` with three targets for every event: the log, a healthy webhook, and a
webhook that accepts the connection and never answers (its timeout is 60 s, the most a
subscription may set). Every log and healthy delivery must be received and marked
delivered while the hanging webhook still hangs: before any of its attempts has ended.
That is the target "a hanging webhook delays no other target by more than its own timeout",
stated as an order of events, not a time: no attempt of the hanging hook may end first.
"""

from __future__ import annotations

import json
import socket
import threading
import time

from tests.backends.test_webhook import Receiver
from tests.helpers import WeirProcess

RULES = 10


class Hanging:
    """Accepts connections, reads what is sent, never answers; counts attempts that ended."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/hook"
        self.accepted = 0
        self.ended = 0
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._drain, args=(conn,), daemon=True).start()

    def _drain(self, conn: socket.socket) -> None:
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        self.ended += 1  # the client gave up: its timeout ran out

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def test_a_hanging_webhook_delays_no_other_target(tmp_path):
    hanging, healthy = Hanging(), Receiver()
    cfg = tmp_path / "weir.toml"
    cfg.write_text(f"""
[alerts]
evaluate_every = 1
min_interval = 0.05

[[subscriptions]]
id = "hanging"
url = "{hanging.url}"
timeout = 60

[[subscriptions]]
id = "healthy"
url = "{healthy.url}"
""")
    server = WeirProcess(tmp_path / "data", "--config", str(cfg), "--no-watch")
    server.start()
    api = server.http
    try:
        assert api.post("/metrics", {"name": "hang_cpu", "value": 1.0, "timestamp": time.time()}).status == 200
        for i in range(RULES):
            r = api.post("/alerts", {"name": f"hang-{i}", "metric": "hang_cpu", "threshold": 80 + i,
                                     "statistic": "max"})
            assert r.status == 201, r
        # Each rule goes INSUFFICIENT_DATA -> OK, then OK -> ALARM: two events, three targets each.
        assert api.post("/metrics", {"name": "hang_cpu", "value": 95.0, "timestamp": time.time()}).status == 200

        def others_done() -> bool:
            events = api.get("/alerts/events", params={"limit": "100"}).json()["events"]
            alarms = [e for e in events if e["event"]["state"] == "ALARM"]
            if len(alarms) < RULES:
                return False
            return all(d["status"] == "delivered" for e in events for d in e["deliveries"]
                       if d["target"] in ("log", "webhook:healthy"))

        deadline = time.monotonic() + 120  # bounds a failure only: the hanging hook ends the test first
        while not others_done() and hanging.ended == 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert hanging.accepted >= 1, "the hanging webhook was never tried"
        assert hanging.ended == 0, "an attempt of the hanging webhook ran out before the others were delivered"
        assert others_done()
        got = [json.loads(body)["event_id"] for _, body in healthy.posts]
        events = api.get("/alerts/events", params={"limit": "100"}).json()["events"]
        assert sorted(got) == sorted(e["event"]["event_id"] for e in events)  # each once
        hanging_states = {d["status"] for e in events for d in e["deliveries"] if d["target"] == "webhook:hanging"}
        assert hanging_states == {"pending"}
    finally:
        hanging.close()
        server.stop()
        healthy.close()
