"""How the webhook destination policy is configured: the default by where `weir serve`
binds, the config file's options, WEIR_WEBHOOK_ALLOW for the Lambda functions."""

from __future__ import annotations

import pytest

from tests.backends.test_webhook import FakeDNS
from weir import config
from weir.configfile import load
from weir.errors import InvalidInputError
from weir.metrics.alerts.destinations import RefusedDestinationError
from weir.wiring.alerting import webhook_policy

LOOPBACK_URL = "http://127.0.0.1:9000/hook"


def allows(policy, url: str = LOOPBACK_URL) -> bool:
    try:
        policy.check(url)
    except RefusedDestinationError:
        return False
    return True


def toml(tmp_path, text: str):
    path = tmp_path / "weir.toml"
    path.write_text(text)
    return load(path)


@pytest.mark.parametrize("host, allowed", [
    ("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("weir.example.com", False),
])
def test_weir_serve_allows_private_destinations_only_when_bound_to_loopback(host, allowed):
    policy = webhook_policy(config.Settings(host=host), None, serve=True, resolver=FakeDNS())
    assert allows(policy) is allowed and allows(policy, "http://10.0.0.1/") is allowed
    assert not allows(policy, "http://169.254.169.254/")


def test_the_config_file_decides_when_it_says(tmp_path):
    dns = FakeDNS()
    refuse = toml(tmp_path, "[alerts]\nallow_private_webhooks = false\nwebhook_allow = ['10.1.0.0/16']\n")
    policy = webhook_policy(config.Settings(host="127.0.0.1"), refuse, serve=True, resolver=dns)
    assert not allows(policy) and allows(policy, "http://10.1.2.3/") and not allows(policy, "http://10.2.0.1/")
    allow = toml(tmp_path, "[alerts]\nallow_private_webhooks = true\n")
    assert allows(webhook_policy(config.Settings(host="0.0.0.0"), allow, serve=True, resolver=dns))
    unset = toml(tmp_path, "[alerts]\nevaluate_every = 30\n")
    assert not allows(webhook_policy(config.Settings(host="0.0.0.0"), unset, serve=True, resolver=dns))


def test_a_lambda_function_refuses_private_destinations_unless_the_variable_allows_them():
    dns = FakeDNS()

    def lambda_policy(value: str | None):
        env = {config.ENV_METRICS_TABLE: "m", config.ENV_SERIES_TABLE: "s", config.ENV_ALERT_CONFIG_TABLE: "a"}
        if value is not None:
            env[config.ENV_WEBHOOK_ALLOW] = value
        settings = config.Settings.for_lambda(env, "alerts")
        return webhook_policy(settings, None, serve=False, resolver=dns)

    for value in (None, "", "none", "NONE"):
        policy = lambda_policy(value)
        assert not allows(policy) and not allows(policy, "http://10.0.0.1/") and allows(policy, "http://8.8.8.8/")
        with pytest.raises(RefusedDestinationError, match="WEIR_WEBHOOK_ALLOW=private"):
            policy.check(LOOPBACK_URL)
    assert allows(lambda_policy("private"), "http://10.0.0.1/")
    listed = lambda_policy("10.0.0.0/8, hooks.internal.example")
    assert allows(listed, "http://10.9.9.9/") and not allows(listed)
    assert not allows(lambda_policy("private"), "http://[fd00:ec2::254]/")


@pytest.mark.parametrize("value, fragment", [
    ("10.0.0.0/8,169.254.169.254", "'169.254.169.254' lies in 169.254.0.0/16"),
    ("none,10.0.0.0/8", "`none` cannot be combined"),
    ("10.0.0.0/40", "neither a network"),
])
def test_a_bad_variable_names_itself(value, fragment):
    with pytest.raises(config.MissingSettingError, match="WEIR_WEBHOOK_ALLOW: ") as info:
        config.parse_webhook_allow(value)
    assert fragment in info.value.message


def test_the_config_file_checks_its_webhook_options(tmp_path):
    cfg = toml(tmp_path, "[alerts]\nwebhook_allow = ['10.0.0.0/8', '*.svc.internal.example']\n"
                         "[[subscriptions]]\nid = 'lan'\nurl = 'http://10.1.2.3/hook'\n")
    assert cfg.alerts.allow_private_webhooks is None and cfg.alerts.webhook_allow == ["10.0.0.0/8",
                                                                                        "*.svc.internal.example"]
    for text, fragment in [
        ("[alerts]\nwebhook_allow = ['fe80::/10']\n", "alerts.webhook_allow: 'fe80::/10' lies in fe80::/10"),
        ("[alerts]\nallow_private_webhooks = 'yes'\n", "alerts.allow_private_webhooks"),
        ("[[subscriptions]]\nid = 'a'\nurl = 'http://ops:secret@hooks.example.com/'\n", "(a): url: "),
        ("[[subscriptions]]\nid = 'a'\nurl = 'http://ops:secret@hooks.example.com/'\n", "credentials"),
    ]:
        with pytest.raises(InvalidInputError) as info:
            toml(tmp_path, text)
        assert fragment in info.value.message and "weir.toml" in info.value.message, info.value.message
