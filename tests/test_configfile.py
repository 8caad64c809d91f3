from __future__ import annotations

import pytest

from weir.configfile import load
from weir.errors import InvalidInputError


def write(tmp_path, text):
    p = tmp_path / "weir.toml"
    p.write_text(text)
    return p


def test_full_file(tmp_path):
    cfg = load(write(tmp_path, """
[alerts]
evaluate_every = 30
sns_topic_arn = "arn:aws:sns:eu-west-1:123456789012:weir-alerts"

[[subscriptions]]
id = "ops"
url = "https://hooks.example.com/weir"
filter_policy = { severity = ["critical"], state = [{ "anything-but" = ["OK"] }] }

[[subscriptions]]
id = "json-policy"
url = "http://127.0.0.1:9000/"
filter_policy = '{"metric": [{"prefix": "cpu"}]}'
"""))
    assert cfg.alerts.evaluate_every == 30
    assert [s.id for s in cfg.subscriptions] == ["ops", "json-policy"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("[alert]\n", "unknown field"),
        ("[alerts]\nevaluate_every = 0\n", "alerts.evaluate_every"),
        ("[[subscriptions]]\nid = 'a'\nurl = 'http://x.example/'\nfilter_policy = { severity = 'critical' }\n",
         "subscriptions[0] (a): filter_policy.severity: must be a non-empty list"),
        ("[[subscriptions]]\nid = 'a'\nurl = 'gopher://x'\n", "not an http(s) URL"),
        ("[[subscriptions]]\nurl = 'http://x.example/'\n", "id"),
        ("[[subscriptions]]\nid='a'\nurl='http://x.example/'\n[[subscriptions]]\nid='a'\nurl='http://y.example/'\n",
         "used twice"),
        ("not toml = = 1", "not valid TOML"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, text, fragment):
    with pytest.raises(InvalidInputError) as info:
        load(write(tmp_path, text))
    assert fragment in info.value.message and "weir.toml" in info.value.message
