"""The structure bound: what counts as an operator, what does not, and where the error points."""

from __future__ import annotations

import pytest

from weir.promql.bounds import MAX_STRUCTURE, check_structure
from weir.promql.errors import BadDataError


def chain(op: str, n: int) -> str:
    return f" {op} ".join(["x"] * (n + 1))


@pytest.mark.parametrize("op", ["+", "-", "*", "/", "%", "^", ">", "<", "and", "or", "unless", "atan2",
                                "AND", "Or", "UNLESS", "aTaN2"])
def test_every_binary_operator_counts_up_to_the_bound(op):
    check_structure(chain(op, MAX_STRUCTURE))
    with pytest.raises(BadDataError, match=rf"^1:[0-9]+: parse error: more than {MAX_STRUCTURE} operators"):
        check_structure(chain(op, MAX_STRUCTURE + 1))


@pytest.mark.parametrize("text", [
    "-" * 251 + "1",
    "-(" * 126 + "1" + ")" * 126,
    "(" * 251 + "x" + ")" * 251,
    "abs(" * 251 + "x" + ")" * 251,
    " == bool ".join(["x"] * 127),  # `==` counts twice
])
def test_unary_minus_parentheses_and_comparisons_count(text):
    with pytest.raises(BadDataError, match="more than 250"):
        check_structure(text)


def test_the_error_points_at_the_operator_past_the_bound():
    text = "x\n" + chain("and", MAX_STRUCTURE + 1)
    with pytest.raises(BadDataError) as e:
        check_structure(text)
    line2 = text.split("\n")[1]
    col = line2.index("and", len(chain("and", MAX_STRUCTURE))) + 1
    assert e.value.message.startswith(f"2:{col}: parse error:")


@pytest.mark.parametrize("text", [
    'x{and="1", or="2", unless="3", atan2="4"}' * 40,  # label names: 160 `=`, 160 words
    " + ".join(["android", "order", "x_and", "unless_total", "atan2x", "or:rate5m"] * 40),
    'x{a="' + "and " * 5000 + '"}',  # inside a string
    "x # " + "and or unless " * 2000,  # a comment
    "sum by (host) (rate(x_total[5m])) / 2" + " + 1" * 200,
    'label_replace(x, "dst", "$1", "src", "(.*)")' + " + x" * 200,
    "x offset 5m" + " + 1e5" * 240,  # numbers and durations are not words
])
def test_what_does_not_count(text):
    check_structure(text)
