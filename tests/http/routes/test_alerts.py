"""The alerts and subscriptions API over loopback against `weir serve --config`, with real webhooks."""

from __future__ import annotations

import json
import time

import pytest

from tests.backends.test_webhook import Receiver
from tests.helpers import WeirProcess, closed_port


def wait_for(check, timeout=60.0, every=0.1):
    """Poll until `check` is truthy: the deadline only bounds a failure (a loaded machine
    may take seconds for what takes milliseconds here), a pass returns at once."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(every)


@pytest.fixture(scope="module")
def hooks():
    critical, everything = Receiver(), Receiver()
    yield critical, everything
    critical.close()
    everything.close()


@pytest.fixture(scope="module")
def dead_port():
    """The "dead" subscription's port, refusing connections for the whole module (a port
    merely free when the config is written could be taken by the time it is posted to)."""
    with closed_port() as port:
        yield port


@pytest.fixture(scope="module")
def alert_server(tmp_path_factory, hooks, dead_port):
    critical, everything = hooks
    root = tmp_path_factory.mktemp("alerts")
    cfg = root / "weir.toml"
    cfg.write_text(f"""
[alerts]
evaluate_every = 1
min_interval = 0.05
max_attempts = 3
backoff_seconds = 0.1
backoff_max_seconds = 0.2
circuit_open_seconds = 0.1

[[subscriptions]]
id = "critical"
url = "{critical.url}"
filter_policy = {{ severity = ["critical"] }}

[[subscriptions]]
id = "everything"
url = "{everything.url}"
filter_policy = '{{"state": [{{"anything-but": ["INSUFFICIENT_DATA"]}}]}}'

[[subscriptions]]
id = "dead"
url = "http://127.0.0.1:{dead_port}/gone"
timeout = 1
""")
    proc = WeirProcess(root / "data", "--config", str(cfg))
    proc.start()
    yield proc
    proc.stop()


@pytest.fixture
def api(alert_server):
    return alert_server.http


def rule(**kw):
    body = {"name": f"rule-{time.monotonic_ns()}", "metric": "alert_cpu", "threshold": 80}
    body.update(kw)
    return body


def seed(api, name="alert_cpu", value=1.0, **dims):
    r = api.post("/metrics", {"name": name, "value": value, "timestamp": time.time(), "dimensions": dims})
    assert r.status == 200, r


def test_crud(api):
    seed(api)
    r = api.post("/alerts", rule(name="crud", labels={"team": "ops"}, group_by=["host"]))
    assert r.status == 201, r
    created = r.json()
    assert created["datapoints_to_alarm"] == 1 and created["version"] == 1 and created["enabled"]
    rid = created["id"]
    assert api.get(f"/alerts/{rid}").json()["labels"] == {"team": "ops"}
    assert rid in [a["id"] for a in api.get("/alerts").json()["alerts"]]
    r = api.request("PUT", f"/alerts/{rid}", json_body=rule(name="crud", threshold=99, evaluation_periods=3))
    assert r.status == 200, r
    assert (r.json()["threshold"], r.json()["version"], r.json()["evaluation_periods"]) == (99, 2, 3)
    assert api.request("DELETE", f"/alerts/{rid}").status == 204
    r = api.get(f"/alerts/{rid}")
    assert r.status == 404 and r.json()["error"] == "not_found"
    assert api.request("DELETE", f"/alerts/{rid}").status == 404
    assert api.get(f"/alerts/{rid}/history").status == 404


@pytest.mark.parametrize(
    "body, fragment",
    [
        (rule(metric="never_written_metric"), "metric: 'never_written_metric' has no series"),
        (rule(statistic="median"), "statistic: invalid enum value 'median'; choose from avg, min, max"),
        (rule(comparison="=="), "comparison: invalid enum value '=='; choose from >, >=, <, <="),
        ('{"name": "x", "metric": "alert_cpu", "threshold": 1e999}', "threshold: must be a finite number"),
        ('{"name": "x", "metric": "alert_cpu", "threshold": NaN}', "not valid JSON"),
        (rule(threshold="high"), "threshold: expected float"),
        (rule(evaluation_periods=3, datapoints_to_alarm=4),
         "datapoints_to_alarm (4) must not exceed evaluation_periods (3)"),
        (rule(evaluation_periods=0), "evaluation_periods: expected int >= 1"),
        (rule(period=3600, evaluation_periods=25), "at most 86400 s"),
        (rule(missing_data="zero"), "missing_data: invalid enum value 'zero'"),
        (rule(severity="fatal"), "severity: invalid enum value 'fatal'; choose from info, warning, critical"),
        (rule(metric="bad name"), "metric: 'bad name' is not a valid metric name"),
        (rule(group_by=[]), "group_by"),
        (rule(group_by=["*", "host"]), "group_by"),
        (rule(colour="red"), "unknown field colour"),
        ("", "the request body is empty"),
        ("[]", "expected object"),
    ],
)
def test_bad_rules_get_a_precise_400(api, body, fragment):
    seed(api)
    raw = body if isinstance(body, str) else json.dumps(body)
    r = api.request("POST", "/alerts", raw, headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    assert r.json()["error"] == "invalid_input"
    assert fragment in r.json()["message"], r.json()


def test_other_refusals(api):
    seed(api)
    assert api.post("/alerts", rule(name="dup")).status == 201
    r = api.post("/alerts", rule(name="dup"))
    assert r.status == 409 and "already called 'dup'" in r.json()["message"]
    r = api.request("POST", "/alerts", json.dumps(rule()), headers={"Content-Type": "text/plain"})
    assert r.status == 415
    assert api.post("/alerts?allow_unknown_metric=maybe", rule()).status == 400
    assert api.post("/alerts?allow_unknown_metric=true", rule(metric="not_yet_written")).status == 201
    assert api.get("/alerts/events", params={"limit": "0"}).status == 400
    assert api.get("/alerts/events", params={"kind": "x"}).status == 400
    assert api.get("/alerts/events", params={"colour": "red"}).status == 400


@pytest.mark.parametrize(
    "body, fragment",
    [
        ({"url": "http://127.0.0.1:9/x", "filter_policy": {"severity": "critical"}}, "non-empty list"),
        ({"url": "http://127.0.0.1:9/x", "filter_policy": "{broken"}, "not valid JSON"),
        ({"url": "http://127.0.0.1:9/x", "filter_policy": {"v": [{"numeric": [">", 5, "<", 1]}]}}, "lower bound"),
        ({"url": "ftp://example.com/x"}, "not an http(s) URL"),
        ({"url": "http://127.0.0.1:9/x", "secret": "short"}, "secret"),
        ({"url": "http://127.0.0.1:9/x", "timeout": 0}, "timeout"),
    ],
)
def test_bad_subscriptions_get_a_precise_400(api, body, fragment):
    r = api.post("/subscriptions", body)
    assert r.status == 400, r
    assert fragment in r.json()["message"], r.json()


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254 is in 169.254.0.0/16: link-local"),
        ("http://2852039166/", "169.254.169.254 is in 169.254.0.0/16"),
        ("http://0xa9fea9fe/", "169.254.169.254 is in 169.254.0.0/16"),
        ("http://[::ffff:169.254.169.254]/", "(that is 169.254.169.254) is in 169.254.0.0/16"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is in fd00:ec2::/32"),
        ("http://0.0.0.0:9/x", "the unspecified address"),
        ("http://ops:hunter2@127.0.0.1:9/x", "credentials in the URL are not accepted"),
    ],
)
def test_webhook_destinations_that_are_never_allowed_get_a_400(api, url, fragment):
    """This server binds to loopback, so loopback receivers are allowed (the fixtures use
    them); the metadata service, however spelled, never is."""
    r = api.post("/subscriptions", {"url": url})
    assert r.status == 400 and r.json()["error"] == "invalid_input", r
    message = r.json()["message"]
    assert message.startswith(f"url: {url!r} is refused: ") and fragment in message, message
    assert url not in [s["url"] for s in api.get("/subscriptions").json()["subscriptions"]]


def test_subscriptions_api_and_config_ones(api):
    subs = {s["id"]: s for s in api.get("/subscriptions").json()["subscriptions"]}
    assert subs["critical"]["source"] == "config"
    assert subs["critical"]["filter_policy"] == {"severity": ["critical"]}
    r = api.request("DELETE", "/subscriptions/critical")
    assert r.status == 409 and "config file" in r.json()["message"]
    r = api.post("/subscriptions", {"url": "http://127.0.0.1:9/x", "name": "mine", "secret": "x" * 16})
    assert r.status == 201, r
    sid = r.json()["id"]
    assert r.json()["signed"] is True and "secret" not in r.json()
    assert api.get(f"/subscriptions/{sid}").json()["name"] == "mine"
    assert api.request("DELETE", f"/subscriptions/{sid}").status == 204
    assert api.get(f"/subscriptions/{sid}").status == 404


def test_ingest_triggers_evaluation_and_filtered_webhooks(api, hooks):
    critical, everything = hooks
    seed(api, "flow_cpu", 1.0, host="a")
    crit_rule = rule(name="flow-critical", metric="flow_cpu", severity="critical", statistic="max")
    crit = api.post("/alerts", crit_rule).json()
    warn = api.post("/alerts", rule(name="flow-warning", metric="flow_cpu", threshold=90, severity="warning",
                                   statistic="max")).json()
    # Both start OK (1 < 80): the INSUFFICIENT_DATA -> OK transitions go to "everything" only.
    assert wait_for(lambda: len(api.get(f"/alerts/{warn['id']}/history").json()["events"]) == 1)
    seed(api, "flow_cpu", 95.0, host="a")  # breaches both rules
    t0 = time.monotonic()

    def ids(rcv, rule_id, state):
        return [json.loads(b)["event_id"] for _, b in rcv.posts
                if json.loads(b)["rule_id"] == rule_id and json.loads(b)["state"] == state]

    assert wait_for(lambda: ids(critical, crit["id"], "ALARM") and ids(everything, warn["id"], "ALARM"))
    latency = time.monotonic() - t0
    assert latency < 20, latency  # seconds after the ingest, not a schedule's minutes (wide for loaded runners)
    assert ids(critical, warn["id"], "ALARM") == []  # warning does not pass {"severity": ["critical"]}
    assert len(ids(everything, crit["id"], "ALARM")) == 1
    state = api.get(f"/alerts/{crit['id']}").json()["states"][0]
    assert state["state"] == "ALARM" and state["value"] == 95.0
    history = api.get(f"/alerts/{crit['id']}/history").json()["events"]
    assert [(h["event"]["previous_state"], h["event"]["state"]) for h in history] == [
        ("OK", "ALARM"), ("INSUFFICIENT_DATA", "OK")]

    def alarm_targets():
        # The dispatcher records a batch's successes after its last attempt (the dead
        # hook's included), so "delivered" may lag the receiver's copy: wait for it.
        latest = api.get(f"/alerts/{crit['id']}/history").json()["events"][0]
        targets = {d["target"]: d["status"] for d in latest["deliveries"]}
        return targets if targets["log"] == targets["webhook:critical"] == "delivered" else None

    assert wait_for(alarm_targets), api.get(f"/alerts/{crit['id']}/history").json()["events"][0]
    # The dead webhook's failure is recorded, retried, and finally marked failed.
    def dead_delivery():
        for item in api.get("/alerts/events", params={"rule_id": crit["id"]}).json()["events"]:
            for d in item["deliveries"]:
                if d["target"] == "webhook:dead" and d["status"] == "failed":
                    return d
        return None

    d = wait_for(dead_delivery)
    assert d and d["attempts"] == 3 and "Connection refused" in d["last_error"]
    sub = api.get("/subscriptions/dead").json()
    assert sub["last_delivery"]["status"] in ("failed", "pending")
    # Exactly once: no event id reached a receiver twice.
    for rcv in (critical, everything):
        got = [json.loads(b)["event_id"] for _, b in rcv.posts]
        assert len(got) == len(set(got))


def test_schedule_notices_missing_data(api):
    seed(api, "quiet_metric", 1.0)
    r = api.post("/alerts", rule(name="quiet", metric="quiet_metric", missing_data="breaching", statistic="max",
                                  period=2))
    rid = r.json()["id"]

    def transitions():
        events = api.get(f"/alerts/{rid}/history").json()["events"]
        return [(e["event"]["previous_state"], e["event"]["state"]) for e in reversed(events)]

    def ok_with_fresh_data():
        states = api.get(f"/alerts/{rid}").json()["states"]
        if states and states[0]["state"] == "OK":
            return True
        seed(api, "quiet_metric", 1.0)  # keep the data fresh until the rule has seen it
        return False

    # Fresh data first (OK). A point stays in the evaluation range (M + 2 periods: 6 s) only
    # briefly, and a loaded machine may take longer than that to evaluate the new rule, so
    # points keep coming until the rule is OK. Then nothing is ingested for the metric, so
    # only the scheduled evaluation can see the periods go missing (treated as breaching).
    assert wait_for(ok_with_fresh_data, every=0.2), transitions()
    assert wait_for(lambda: transitions() == [("INSUFFICIENT_DATA", "OK"), ("OK", "ALARM")]), transitions()
    [state] = api.get(f"/alerts/{rid}").json()["states"]
    assert "missing" in state["reason"] or "No datapoints" in state["reason"]
