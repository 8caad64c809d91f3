"""The webhook destination policy over a real `weir serve` socket: a config file that
refuses private destinations although the server binds to loopback, with one allowed
address, and config-file subscriptions the policy refuses (a start-up error)."""

from __future__ import annotations

import pytest

from tests.backends.test_webhook import Receiver
from tests.helpers import WeirProcess
from tests.http.routes.test_alerts import wait_for


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("webhook-policy")
    cfg = root / "weir.toml"
    cfg.write_text("""
[alerts]
allow_private_webhooks = false
webhook_allow = ["127.0.0.2", "hooks.internal.example"]
""")
    proc = WeirProcess(root / "data", "--config", str(cfg))
    proc.start()
    yield proc
    proc.stop()


def test_private_destinations_are_refused_with_how_to_allow_them(strict_server):
    api = strict_server.http
    r = api.post("/subscriptions", {"url": "http://127.0.0.1:9000/hook"})
    assert r.status == 400, r
    message = r.json()["message"]
    assert message.startswith("url: 'http://127.0.0.1:9000/hook' is refused: 127.0.0.1 is in 127.0.0.0/8: loopback")
    assert "webhook_allow" in message and "allow_private_webhooks = true" in message
    assert api.post("/subscriptions", {"url": "http://10.0.0.8/hook"}).status == 400
    r = api.post("/subscriptions", {"url": "http://127.0.0.2:9000/hook"})  # listed in webhook_allow
    assert r.status == 201, r
    assert api.request("DELETE", f"/subscriptions/{r.json()['id']}").status == 204


def start_error(tmp_path, toml: str) -> str:
    cfg = tmp_path / "weir.toml"
    cfg.write_text(toml)
    (tmp_path / "data").mkdir()
    proc = WeirProcess(tmp_path / "data", "--config", str(cfg))
    with pytest.raises(RuntimeError, match="exited with"):
        proc.start()
    proc.log.close()
    return " ".join((tmp_path / f"serve-{proc.port}.log").read_text().split())  # rich wraps long lines


@pytest.mark.parametrize(
    "toml, fragment",
    [
        ('[[subscriptions]]\nid = "meta"\nurl = "http://169.254.169.254/latest/meta-data/"\n',
         "subscriptions[0] (meta): url: 'http://169.254.169.254/latest/meta-data/' is refused: 169.254.169.254 is in"),
        ('[alerts]\nallow_private_webhooks = false\n[[subscriptions]]\nid = "lan"\nurl = "http://10.1.2.3/h"\n',
         "subscriptions[0] (lan): url: 'http://10.1.2.3/h' is refused: 10.1.2.3 is in 10.0.0.0/8"),
        ('[alerts]\nwebhook_allow = ["169.254.0.0/16"]\n', "alerts.webhook_allow: '169.254.0.0/16' lies in"),
    ],
)
def test_config_subscriptions_the_policy_refuses_stop_the_start(tmp_path, toml, fragment):
    log = start_error(tmp_path, toml)
    assert fragment in log and "weir.toml" in log, log
    if "allow_private_webhooks = false" in toml:
        assert "[alerts] webhook_allow" in log  # the hint survives the console's markup


def test_a_stored_subscription_the_policy_now_refuses_is_a_failed_delivery_with_the_reason(tmp_path):
    """Subscribed while loopback was allowed (the default on loopback), then restarted with
    `allow_private_webhooks = false`: each event's delivery is marked failed at once with
    the reason, in GET /alerts/events, and nothing reaches the receiver."""
    receiver = Receiver()
    (tmp_path / "data").mkdir()
    try:
        first = WeirProcess(tmp_path / "data")
        first.start()
        try:
            r = first.http.post("/subscriptions", {"url": receiver.url, "name": "was-allowed"})
            assert r.status == 201, r
            sub_id = r.json()["id"]
            assert first.http.post("/metrics", {"name": "policy_cpu", "value": 1.0}).status == 200
        finally:
            first.stop()
        cfg = tmp_path / "weir.toml"
        cfg.write_text("[alerts]\nallow_private_webhooks = false\nevaluate_every = 1\nmin_interval = 0.05\n")
        second = WeirProcess(tmp_path / "data", "--config", str(cfg))
        second.start()
        try:
            api = second.http
            rule = api.post("/alerts", {"name": "policy", "metric": "policy_cpu", "threshold": 50, "statistic": "max"})
            assert rule.status == 201, rule
            assert api.post("/metrics", {"name": "policy_cpu", "value": 95.0}).status == 200

            def refused():
                for item in api.get("/alerts/events", params={"rule_id": rule.json()["id"]}).json()["events"]:
                    for d in item["deliveries"]:
                        if d["target"] == f"webhook:{sub_id}" and item["event"]["state"] == "ALARM":
                            return d if d["status"] != "pending" else None
                return None

            d = wait_for(refused)
            assert d and d["status"] == "failed" and d["attempts"] == 1 and d["next_attempt"] is None, d
            assert "destination policy refuses it" in d["last_error"], d
            assert "127.0.0.1 is in 127.0.0.0/8: loopback" in d["last_error"], d
            assert api.get(f"/subscriptions/{sub_id}").json()["last_delivery"]["status"] == "failed"
            assert receiver.posts == []
        finally:
            second.stop()
    finally:
        receiver.close()
