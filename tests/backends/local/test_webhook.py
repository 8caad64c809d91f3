"""Webhook deliveries to a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest

from tests.helpers import closed_port
from weir.backends.local.notify import LogNotifier, WebhookNotifier
from weir.errors import DeliveryError
from weir.metrics.alerts.model import AlertEvent


class Receiver:
    """A real http.server in a thread that records posts and answers with `status`."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict, bytes]] = []
        self.status = 200
        self.delay = 0.0
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.delay:
                    time.sleep(receiver.delay)
                receiver.posts.append((dict(self.headers), body))
                try:
                    self.send_response(receiver.status)
                    self.end_headers()
                    self.wfile.write(b"nope" if receiver.status >= 400 else b"")
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def event(**kw) -> AlertEvent:
    base = dict(
        event_id="r-1.ab.1.1",
        kind="transition",
        rule_id="r-1",
        rule_name="cpu high",
        metric="cpu",
        group={"host": "a"},
        previous_state="OK",
        state="ALARM",
        severity="critical",
        reason="x",
        value=97.0,
        threshold=90.0,
        comparison=">",
        statistic="avg",
        period=60,
        labels={"team": "ops"},
        at="2026-01-01T00:00:00Z",
        environment="test",
    )
    base.update(kw)
    return AlertEvent(**base)


def test_posts_json_with_event_id_and_signature(receiver):
    WebhookNotifier(receiver.url, secret="s" * 20).send(event())
    [(headers, body)] = receiver.posts
    assert json.loads(body)["state"] == "ALARM" and json.loads(body)["labels"] == {"team": "ops"}
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Weir-Event-Id"] == "r-1.ab.1.1"
    want = hmac.new(b"s" * 20, body, hashlib.sha256).hexdigest()
    assert headers["X-Weir-Signature"] == f"sha256={want}"


def test_error_status_is_a_delivery_error(receiver):
    receiver.status = 500
    with pytest.raises(DeliveryError, match="HTTP 500: nope"):
        WebhookNotifier(receiver.url).send(event())


def test_timeout_is_a_delivery_error(receiver):
    receiver.delay = 1.0
    with pytest.raises(DeliveryError, match="no answer within 0.2 s"):
        WebhookNotifier(receiver.url, timeout=0.2).send(event())


def test_unreachable_is_a_delivery_error():
    with closed_port() as port, pytest.raises(DeliveryError, match="Connection refused"):
        WebhookNotifier(f"http://127.0.0.1:{port}/x", timeout=2).send(event())


def test_log_line_is_json(caplog):
    with caplog.at_level("INFO", logger="weir.alerts.events"):
        LogNotifier().send(event())
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert json.loads(record.getMessage())["alert"]["event_id"] == "r-1.ab.1.1"
