"""DNS rebinding end to end: a subscription whose host name resolved to a public address
when it was created, and to the metadata service when its event is delivered. Real alert
store (SQLite and DynamoDB on moto), real engine, dispatcher and webhook notifier, a real
receiver on loopback; only DNS is a fake, changed between creation and delivery."""

from __future__ import annotations

import json
from functools import partial

from tests.backends.test_webhook import FakeDNS, Receiver
from weir.backends.log import LogNotifier
from weir.backends.webhook import WebhookNotifier
from weir.metrics.alerts.destinations import WebhookPolicy
from weir.metrics.alerts.evaluate import AlertEngine
from weir.metrics.alerts.notify import LOG_TARGET, Dispatcher, RetryPolicy, Router
from weir.metrics.alerts.service import AlertService
from weir.metrics.timeutil import NS


def test_a_name_rebound_to_the_metadata_service_after_creation_is_refused_at_delivery(env):
    receiver = Receiver()
    try:
        dns = FakeDNS({"hooks.example.com": ["93.184.216.34"], "hooks.internal.example": ["127.0.0.1"]})
        policy = WebhookPolicy(resolver=dns, allow=["hooks.internal.example"])
        router = Router(env.alerts)
        service = AlertService(env.alerts, env.metrics, router, destinations=policy, clock=env.clock)
        rebound = service.create_subscription(json.dumps({"url": f"http://hooks.example.com:{receiver.port}/hook"}))
        good = service.create_subscription(json.dumps({"url": f"http://hooks.internal.example:{receiver.port}/ok"}))
        dns.answers["hooks.example.com"] = ["169.254.169.254"]  # the name's owner rebinds it

        env.rule(threshold=50, missing_data="breaching")
        [event] = AlertEngine(env.metrics, env.alerts, router, clock=env.clock).evaluate_all()
        dispatcher = Dispatcher(env.alerts, {LOG_TARGET: LogNotifier()},
                                partial(WebhookNotifier.for_subscription, policy=policy),
                                retry=RetryPolicy(max_attempts=5, base_seconds=1, max_seconds=1), clock=env.clock)
        assert dispatcher.deliver_due() == 3

        [item] = service.events({}).events
        deliveries = {d.target: d for d in item.deliveries}
        refused = deliveries[f"webhook:{rebound.id}"]
        assert (refused.status, refused.attempts, refused.next_attempt) == ("failed", 1, None)
        assert "hooks.example.com resolves to 169.254.169.254" in (refused.last_error or "")
        assert deliveries[f"webhook:{good.id}"].status == "delivered"
        assert deliveries[LOG_TARGET].status == "delivered"
        # Only the allowed subscription was posted to, under its own host name.
        [(headers, body)] = receiver.posts
        assert receiver.paths == ["/ok"] and headers["Host"] == f"hooks.internal.example:{receiver.port}"
        assert json.loads(body)["event_id"] == event.event_id
        # A refusal is final: nothing is left to retry, later passes send nothing.
        env.clock.ns += 3600 * NS
        assert env.alerts.next_due_ns() is None and dispatcher.deliver_due() == 0
        assert service.get_subscription(rebound.id).last_delivery.status == "failed"
    finally:
        receiver.close()
