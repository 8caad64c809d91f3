"""The tokenizer beside the Rust parser: lexical errors with offsets, `@` numbers, Go's numbers."""

from __future__ import annotations

import pytest

from weir.promql.lexer import LexError, at_timestamps, parse_number, tokenize


def test_tokens_and_offsets():
    toks = tokenize('sum(rate(x{a="b"}[5m])) by (a) > 0x1f # comment')
    assert [t.text for t in toks][:6] == ["sum", "(", "rate", "(", "x", "{"]
    assert toks[-1].kind == "number" and toks[-1].text == "0x1f" and toks[-1].pos == 33
    assert [t.kind for t in tokenize("x[1h30m:5m]")] == ["ident", "[", "duration", ":", "duration", "]"]


@pytest.mark.parametrize(
    ("text", "pos"),
    [("x $", 2), ('x{a="b', 4), ("(x", 2), ("x)", 1), ("x]", 1), ("a ! b", 2), ("x{a{", 3), ("1x", 0)],
)
def test_lexical_errors_have_offsets(text, pos):
    with pytest.raises(LexError) as e:
        tokenize(text)
    assert e.value.pos == pos


def test_at_timestamps_with_signs():
    toks = tokenize("x @ -1.5 + y @ 10 + z @ start()")
    assert [v for _, v in at_timestamps(toks)] == [-1.5, 10.0]


@pytest.mark.parametrize(
    ("text", "value"), [("010", 8.0), ("09", 9.0), ("0x10", 16.0), ("1e3", 1000.0), ("Inf", float("inf")), (".5", 0.5)]
)
def test_numbers_as_go_reads_them(text, value):
    assert parse_number(text) == value
