"""How much structure a PromQL expression may have, checked before any parser sees it.

promql-parser (Rust) recurses once per level of the tree it builds and drops, and overflows
its thread's stack on a few thousand levels: a segmentation fault, which takes the whole
`weir serve` process (and every write it has not yet acknowledged) down with it. Any operator
can be chained that deep: `1+1+...`, `x and x and ...`, `x == bool x == bool ...`,
`-(-(-(...)))`, `((((x))))`, `abs(abs(...))`. Weir's own converter and evaluator recurse per
level too. So an expression may hold at most `MAX_STRUCTURE` operators and parentheses in all,
counted here in one pass over the text:

- each of the characters `+ - * / % ^ = ! < > (` (so `==` counts twice: an over-count is
  only ever a refusal a little early);
- each binary operator written as a word, `and or unless atan2` (any case, as PromQL reads
  keywords), except inside `{...}`, where such words are label names;
- nothing inside string literals (`"..."`, `'...'`, `` `...` ``) or `#` comments.

Prometheus has no such bound; real expressions stay far below it. `weir.promql.parse` calls
this before every parse, whoever asks (the HTTP API, the engine used from Python), so no
entry point can reach the binding with a deeper tree. This module imports nothing heavy: the
`api` Lambda's answers module uses it on its cold start path.
"""

from __future__ import annotations

from weir.promql.errors import BadDataError

MAX_STRUCTURE = 250
_OPERATOR_CHARS = frozenset("+-*/%^=!<>(")
_WORD_OPERATORS = frozenset({"and", "or", "unless", "atan2"})
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:")
_WORD = _WORD_START | frozenset("0123456789")
_NUMBER = _WORD | frozenset(".")  # `5m`, `1e3`, `0x1f`, `1.5`: one token, never a keyword


def check_structure(text: str) -> None:
    """BadDataError (`line:col: parse error: more than 250 ...`, at the operator past the
    bound) when `text` holds more than MAX_STRUCTURE operators and parentheses."""
    count, i, n, braces = 0, 0, len(text), 0
    while i < n:
        c = text[i]
        start = i
        counted = False
        if c in "\"'`":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" and c != "`" else 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in _WORD_START:
            while i + 1 < n and text[i + 1] in _WORD:
                i += 1
            counted = braces == 0 and text[start : i + 1].lower() in _WORD_OPERATORS
        elif c.isdigit() or c == ".":
            while i + 1 < n and text[i + 1] in _NUMBER:
                i += 1
        elif c == "{":
            braces += 1
        elif c == "}":
            braces = max(0, braces - 1)
        else:
            counted = c in _OPERATOR_CHARS
        if counted:
            count += 1
            if count > MAX_STRUCTURE:
                line = text.count("\n", 0, start) + 1
                col = start - (text.rfind("\n", 0, start) + 1) + 1
                raise BadDataError(f"{line}:{col}: parse error: more than {MAX_STRUCTURE} operators and "
                                   "parentheses in one expression; Weir stops there (split it, or sum fewer terms)")
        i += 1
