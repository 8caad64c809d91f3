"""SNS filter-policy semantics, checked against moto's implementation of SNS filtering."""

from __future__ import annotations

import json

import pytest
from moto.sns.utils import FilterPolicyMatcher

from weir.metrics.alerts.filterpolicy import FilterPolicyError, matches, parse_policy

ATTRS = {"severity": "critical", "metric": "cpu.usage", "state": "ALARM", "environment": "prod", "value": 93.5}


def sns_attrs(attrs: dict) -> dict:
    return {k: {"Type": "String" if isinstance(v, str) else "Number", "Value": v if isinstance(v, str) else str(v)}
            for k, v in attrs.items()}


CASES = [
    ({"severity": ["critical"]}, True),
    ({"severity": ["warning"]}, False),
    ({"severity": ["warning", "critical"]}, True),  # OR within a key
    ({"severity": ["critical"], "state": ["OK"]}, False),  # AND across keys
    ({"severity": ["critical"], "state": ["ALARM"]}, True),
    ({"metric": [{"prefix": "cpu."}]}, True),
    ({"metric": [{"prefix": "mem."}]}, False),
    ({"metric": [{"suffix": ".usage"}]}, True),
    ({"environment": [{"equals-ignore-case": "PROD"}]}, True),  # moto lowercases only one side
    ({"severity": [{"anything-but": ["info", "warning"]}]}, True),
    ({"severity": [{"anything-but": "critical"}]}, False),
    ({"metric": [{"anything-but": {"prefix": "cpu"}}]}, False),
    ({"metric": [{"anything-but": {"prefix": "mem"}}]}, True),
    ({"team": [{"anything-but": ["ops"]}]}, False),  # absent attribute: anything-but does not match
    ({"value": [{"numeric": [">=", 90]}]}, True),
    ({"value": [{"numeric": [">", 90, "<=", 93.5]}]}, True),
    ({"value": [{"numeric": [">", 90, "<", 93.5]}]}, False),
    ({"value": [{"numeric": ["=", 93.5]}]}, True),
    ({"value": [93.5]}, True),
    ({"value": [93]}, False),
    ({"severity": [{"numeric": [">", 0]}]}, False),  # numeric conditions need Number attributes
    ({"value": ["93.5"]}, False),  # and strings String ones (moto compares the text anyway)
    ({"team": [{"exists": False}]}, True),
    ({"team": [{"exists": True}]}, False),
    ({"severity": [{"exists": True}]}, True),
    ({"severity": [{"exists": False}]}, False),
    ({"team": ["ops"]}, False),
]


# Where moto 5 differs from SNS's documented behaviour; Weir follows the documentation.
MOTO_DIFFERS = {8, 21}


@pytest.mark.parametrize("i", range(len(CASES)))
def test_matching_agrees_with_moto(i):
    policy, want = CASES[i]
    parse_policy(policy)
    assert matches(policy, ATTRS) is want
    moto = FilterPolicyMatcher(policy, None).matches(sns_attrs(ATTRS), "{}")
    assert moto is (want if i not in MOTO_DIFFERS else not want)


def test_policy_as_json_text_and_no_policy():
    assert parse_policy('{"severity": ["critical"]}') == {"severity": ["critical"]}
    assert matches(None, ATTRS)


@pytest.mark.parametrize(
    "policy, fragment",
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ({}, "empty"),
        ({"severity": "critical"}, "non-empty list"),
        ({"severity": []}, "non-empty list"),
        ({"severity": [True]}, "not a condition"),
        ({"severity": [None]}, "not a condition"),
        ({"severity": {"nested": ["x"]}}, "nested objects"),
        ({f"k{i}": ["x"] for i in range(6)}, "at most 5"),
        ({"a": list("abcdef"), "b": list("abcdef"), "c": list("abcde")}, "combinations"),
        ({"value": [{"numeric": [">", "x"]}]}, "not a finite number"),
        ({"value": [{"numeric": ["<", 5, ">", 1]}]}, "lower bound"),
        ({"value": [{"numeric": [">", 5, "<", 1]}]}, "less than the upper"),
        ({"value": [{"numeric": ["!=", 5]}]}, "unknown numeric operator"),
        ({"value": [{"numeric": [">", 1, "<", 5, "<", 9]}]}, "use [op, number]"),
        ({"value": [{"numeric": [">", 2e9]}]}, "outside the range"),
        ({"state": [{"exists": "yes"}]}, "true or false"),
        ({"state": [{"prefix": ""}]}, "non-empty string"),
        ({"state": [{"anything-but": ["a", 1]}]}, "all strings or all numbers"),
        ({"state": [{"anything-but": {"wildcard": "a*"}}]}, "prefix"),
        ({"state": [{"wildcard": "a*"}]}, "unknown operator"),
        ({"state": [{"prefix": "a", "suffix": "b"}]}, "exactly one operator"),
        ({"$or": [{"a": ["b"]}]}, "$or"),
    ],
)
def test_malformed_policies_are_refused_with_the_reason(policy, fragment):
    with pytest.raises(FilterPolicyError) as info:
        parse_policy(policy if isinstance(policy, str) else json.loads(json.dumps(policy)))
    assert fragment in info.value.message
    assert info.value.status == 400
