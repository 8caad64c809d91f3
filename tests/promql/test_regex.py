"""RE2 patterns on Python's `re`: translations, refusals, and the backtracking guard."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from weir.promql.errors import BadDataError
from weir.promql.regex import compile_anchored, translate


@pytest.mark.parametrize(
    ("pattern", "yes", "no"),
    [
        ("foo", ["foo"], ["foobar", "xfoo", ""]),
        ("a|b", ["a", "b"], ["ab"]),
        ("\\d+", ["123"], ["١٢٣", "12a"]),  # RE2's \d is ASCII
        ("\\w+", ["a_1"], ["é"]),
        ("\\s", [" ", "\t"], ["\v"]),
        ("[[:alpha:]]+", ["Ab"], ["A1"]),
        ("[^[:digit:]]", ["a"], ["1"]),
        ("\\x{e9}", ["é"], ["e"]),
        ("\\Qa.b\\E", ["a.b"], ["axb"]),
        ("(?i)foo", ["FoO"], ["bar"]),
        ("a(?i)b|c", ["aB", "C"], ["AB"]),
        ("(?i)F(?-i)oo", ["foo", "Foo"], ["FOO"]),
        ("a{,3}", ["a{,3}"], ["aaa"]),  # not a repetition in RE2: literal
        ("x{2}", ["xx"], ["x"]),
        ("a.c", ["abc"], ["a\nc"]),
        ("(?s:a.c)", ["a\nc"], []),
        ("", [""], ["a"]),
        ("[]a]", ["]", "a"], ["b"]),
        ("a\\z", ["a"], []),
    ],
)
def test_matches_like_re2(pattern, yes, no):
    compiled = compile_anchored(pattern)
    for s in yes:
        assert compiled.fullmatch(s), (pattern, s)
    for s in no:
        assert not compiled.fullmatch(s), (pattern, s)


@pytest.mark.parametrize(
    "pattern",
    [
        "(",
        "a)",
        "[a",
        "a**",
        "a{2}{3}",
        "\\1",
        "(?=a)",
        "(?<!a)b",
        "(?>a)",
        "\\pL",
        "(?U)a*",
        "\\",
        "\\x{110000}",
        "[[:nope:]]",
        "(a+)+b",
        "(a|aa)*",
        "(x?){9}",
        ".*a.*a.*a.*b",
    ],
)
def test_refused(pattern):
    with pytest.raises(BadDataError):
        compile_anchored(pattern)


def test_alternation_of_distinct_words_may_repeat():
    assert compile_anchored("(GET|PUT)+").fullmatch("GETPUT")
    assert compile_anchored(".*foo.*bar.*").fullmatch("xfooybarz")


def test_inline_flags_are_scoped_for_python():
    assert translate("(?i)ab") == "(?i:ab)"
    assert translate("a(?i)b|c") == "a(?i:b)|(?i:c)"


_PIECES = st.sampled_from(
    [
        "a",
        "b",
        ".",
        "*",
        "+",
        "?",
        "|",
        "(",
        ")",
        "[",
        "]",
        "^",
        "$",
        "{",
        "}",
        "2",
        ",",
        "\\",
        "d",
        "w",
        "x",
        ":",
        "?:",
        "(?i)",
        "[[:alpha:]]",
        "\\Q",
        "\\E",
        "-",
        "P<n>",
    ]
)


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=10).map("".join))
def test_any_pattern_compiles_or_is_bad_data(pattern):
    try:
        compiled = compile_anchored(pattern)
    except BadDataError:
        return
    assert isinstance(compiled, re.Pattern)


def test_a_long_refused_pattern_is_not_echoed_whole():
    pattern = "(" * 10_000
    with pytest.raises(BadDataError) as e:
        compile_anchored(pattern)
    assert len(str(e.value)) < 400 and "10000 characters" in str(e.value)
