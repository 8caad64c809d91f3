"""A small PromQL tokenizer, after Prometheus' lexer, used beside `promql-parser`.

The Rust parser says what is wrong but not where; this lexer finds lexical errors (a stray
character, an unterminated string, an unbalanced bracket) with their offsets, gives the
token boundaries the parser adapter uses to place other errors, and reads the `@`
timestamps the Rust binding cannot hand back (a negative one makes it panic).
"""

from __future__ import annotations

from dataclasses import dataclass

_SPACE = " \t\n\r"
_ALPHA = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_DIGIT = set("0123456789")
_ALNUM = _ALPHA | _DIGIT
_DURATION_UNITS = "smhdwy"


@dataclass(slots=True)
class Token:
    kind: str  # "ident", "number", "duration", "string", "op", "(", ")", "{", "}", "[", "]", ",", "@", ":"
    text: str
    pos: int


class LexError(Exception):
    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _scan_number(s: str, i: int) -> tuple[int, bool]:
    """End of a number starting at i, and whether it is a complete number (not a duration)."""
    digits = _DIGIT
    n = len(s)
    if s.startswith(("0x", "0X"), i):
        digits = set("0123456789abcdefABCDEF")
        i += 2
    while i < n and s[i] in digits:
        i += 1
    if i < n and s[i] == ".":
        i += 1
        while i < n and s[i] in digits:
            i += 1
    if i < n and s[i] in "eE":
        i += 1
        if i < n and s[i] in "+-":
            i += 1
        while i < n and s[i] in _DIGIT:
            i += 1
    return i, not (i < n and s[i] in _ALNUM)


def _scan_duration(s: str, i: int) -> int | None:
    """End of a duration like `1h30m` starting at i, or None when it is not one."""
    n = len(s)
    j = i
    seen = False
    while j < n and s[j] in _DIGIT:
        start = j
        while j < n and s[j] in _DIGIT:
            j += 1
        if j == start:
            break
        if j < n and s[j] in _DURATION_UNITS:
            j += 1
            if j < n and s[j - 1] == "m" and s[j] == "s":
                j += 1
            seen = True
        else:
            return None
    if not seen or (j < n and s[j] in _ALNUM):
        return None
    return j


def _scan_string(s: str, i: int) -> int:
    quote = s[i]
    n = len(s)
    j = i + 1
    if quote == "`":
        end = s.find("`", j)
        if end < 0:
            raise LexError("unterminated raw string", i)
        return end + 1
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "\n":
            break
        if c == quote:
            return j + 1
        j += 1
    raise LexError("unterminated quoted string", i)


def tokenize(s: str) -> list[Token]:
    """The tokens of s; LexError (with the offset) on the first lexical error."""
    out: list[Token] = []
    i, n = 0, len(s)
    stack: list[tuple[str, int]] = []
    while i < n:
        c = s[i]
        in_braces = bool(stack) and stack[-1][0] == "{"
        in_brackets = bool(stack) and stack[-1][0] == "["
        if c in _SPACE:
            i += 1
            continue
        if c == "#":
            end = s.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "\"'`":
            end = _scan_string(s, i)
            out.append(Token("string", s[i:end], i))
            i = end
            continue
        if c in "([{":
            if c == "{" and in_braces:
                raise LexError("unexpected left brace '{'", i)
            if c == "[" and in_brackets:
                raise LexError("unexpected left bracket '['", i)
            stack.append((c, i))
            out.append(Token(c, c, i))
            i += 1
            continue
        if c in ")]}":
            want = {")": "(", "]": "[", "}": "{"}[c]
            if not stack or stack[-1][0] != want:
                what = {")": "right parenthesis", "]": "right bracket", "}": "right brace"}[c]
                raise LexError(f"unexpected {what} {c!r}", i)
            stack.pop()
            out.append(Token(c, c, i))
            i += 1
            continue
        if c in _DIGIT or (c == "." and i + 1 < n and s[i + 1] in _DIGIT):
            if not in_braces:
                dur_end = _scan_duration(s, i)
                if dur_end is not None:
                    out.append(Token("duration", s[i:dur_end], i))
                    i = dur_end
                    continue
                end, ok = _scan_number(s, i)
                if not ok:
                    raise LexError(f"bad number or duration syntax: {s[i : end + 1]!r}", i)
                out.append(Token("number", s[i:end], i))
                i = end
                continue
            raise LexError(f"unexpected character inside braces: {c!r}", i)
        if c in _ALPHA or (c == ":" and not in_braces and not in_brackets):
            j = i + 1
            while j < n and (s[j] in _ALNUM or (s[j] == ":" and not in_braces)):
                j += 1
            word = s[i:j]
            kind = "number" if word.lower() in ("inf", "nan") and not in_braces else "ident"
            out.append(Token(kind, word, i))
            i = j
            continue
        if c == ":" and in_brackets:
            out.append(Token(":", c, i))
            i += 1
            continue
        if c in ",@":
            out.append(Token(c, c, i))
            i += 1
            continue
        two = s[i : i + 2]
        if two in ("==", "!=", "<=", ">=", "=~", "!~"):
            if not in_braces and two in ("=~", "!~"):
                raise LexError(f"unexpected character after {c!r}: {s[i + 1]!r}", i)
            out.append(Token("op", two, i))
            i += 2
            continue
        if c in "+-*/%^<>=":
            out.append(Token("op", c, i))
            i += 1
            continue
        if c == "!":
            nxt = s[i + 1] if i + 1 < n else "EOF"
            raise LexError(f"unexpected character after '!': {nxt!r}", i)
        raise LexError(f"unexpected character: {c!r}", i)
    if stack:
        unclosed = {
            "(": "unclosed left parenthesis",
            "[": "unclosed left bracket",
            "{": "unexpected end of input inside braces",
        }
        raise LexError(unclosed[stack[-1][0]], n)
    return out


def at_timestamps(tokens: list[Token]) -> list[tuple[int, float]]:
    """For each `@ <number>` (optionally signed), the number's token index and its value."""
    out = []
    for k, tok in enumerate(tokens):
        if tok.kind != "@" or k + 1 >= len(tokens):
            continue
        sign, j = 1.0, k + 1
        if tokens[j].kind == "op" and tokens[j].text in "+-" and j + 1 < len(tokens):
            sign = -1.0 if tokens[j].text == "-" else 1.0
            j += 1
        if tokens[j].kind == "number":
            out.append((j, sign * parse_number(tokens[j].text)))
    return out


def parse_number(text: str) -> float:
    """A PromQL number literal as Go reads it (`strconv.ParseInt(s, 0, 64)`, then ParseFloat)."""
    low = text.lower()
    if low in ("inf", "+inf"):
        return float("inf")
    if low == "nan":
        return float("nan")
    try:
        if low.startswith("0x"):
            return float(int(low, 16))
        if len(low) > 1 and low[0] == "0" and low.isdigit():
            return float(int(low, 8))  # Go's base-0 ParseInt reads a leading 0 as octal
        return float(int(low)) if low.isdigit() else float(low)
    except ValueError:
        return float(low)  # e.g. "09.5": ParseInt fails, ParseFloat reads it as decimal
