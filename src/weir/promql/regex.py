"""Label-matcher regexes: Go RE2 syntax, run on Python's `re`, fully anchored as Prometheus does.

Prometheus compiles `=~"v"` as `^(?:v)$` with Go's RE2. Python's `re` is close but not the
same, so patterns are translated first:

- `\\d \\w \\s` (and `\\D \\W \\S`) are ASCII in RE2; Python's are Unicode. Translated to
  explicit ASCII classes (`\\s` is RE2's `[\\t\\n\\f\\r ]`, without `\\v`).
- `\\x{HHHH}` code points become Python's `\\UHHHHHHHH`.
- RE2's POSIX classes inside brackets (`[[:alpha:]]`) become ASCII ranges; `\\Q...\\E`
  quoting becomes escaped text; RE2's `\\z` becomes Python's `\\Z`.
- What RE2 refuses (look-arounds, back-references, atomic groups, possessive quantifiers,
  conditionals) is refused here too, as a `bad_data` error, so a query valid here is valid
  in Prometheus.

Python's `re` backtracks where RE2 runs in linear time, so a few patterns could take
exponential time on a long label value (`.*a.*a.*a.*b`, `(a+)+b`): patterns that repeat a
group which itself repeats or alternates (`(a+)+`, `(a|aa)*`, `(x?){9}`; an alternation of
plain words with distinct first letters, like `(GET|PUT)+`, is fine), or that hold more
than three unbounded repetitions, are refused with `bad_data` (Prometheus accepts them).

Known differences, documented rather than emulated: Unicode classes (`\\pL`, `\\p{Greek}`)
are refused (Python's `re` has none); RE2's ungreedy flag `(?U)` is refused; `(?i)` folds
case with Python's rules (Unicode simple folding, as RE2 does, save a few special letters);
`\\b` uses Python's Unicode notion of a word character where RE2's is ASCII.
"""

from __future__ import annotations

import re
from functools import lru_cache

from weir.promql.errors import BadDataError

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
_CLASS = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_REFUSED = [
    ("(?=", "look-ahead"),
    ("(?!", "look-ahead"),
    ("(?<=", "look-behind"),
    ("(?<!", "look-behind"),
    ("(?>", "atomic groups"),
    ("(?P=", "back-references"),
    ("(?(", "conditionals"),
    ("(?#", "comments"),
]


_ECHO = 200  # characters of a refused pattern repeated in the error: a 64 KiB pattern is not echoed whole


def _fail(pattern: str, why: str) -> BadDataError:
    shown = pattern if len(pattern) <= _ECHO else pattern[:_ECHO] + f"... ({len(pattern)} characters)"
    return BadDataError(f"invalid regular expression {shown!r}: {why}")


MAX_UNBOUNDED = 3
_BACKTRACKING = (
    "refused because Weir's regex engine backtracks (RE2 does not) and this pattern could take exponential time"
)
_REPEAT = re.compile(r"\{(\d+)(,(\d*))?\}")


def _repetition(pattern: str, i: int) -> tuple[int | None, int] | None:
    """The repetition operator at i: (most repeats or None when unbounded, its length)."""
    c = pattern[i]
    if c == "*" or c == "+":
        return None, 1
    if c == "?":
        return 1, 1
    if c == "{":
        m = _REPEAT.match(pattern, i)
        if m is None:
            return None  # a `{` that starts no repetition is literal
        if m.group(2) is None:
            most: int | None = int(m.group(1))
        else:
            most = int(m.group(3)) if m.group(3) else None
        if int(m.group(1)) > 1000 or (most is not None and most > 1000):
            raise _fail(pattern, "invalid repeat count")
        return most, m.end() - i
    return None


def _distinct_literals(body: str) -> bool:
    """Whether a group's body is plain words separated by `|`, each starting differently."""
    if body.startswith("?:"):
        body = body[2:]
    words = body.split("|")
    if any(not w or not all(ch.isalnum() or ch in "_-/ " for ch in w) for w in words):
        return False
    return len({w[0] for w in words}) == len(words)


def translate(pattern: str) -> str:
    """The Python `re` pattern equivalent to an RE2 pattern; BadDataError if RE2 would refuse
    it or Python cannot express it."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = 0
    scopes: list[list[str]] = [[]]  # per open group, the inline flags scoped in it so far
    groups: list[list] = [[False, False, 0]]  # per open group: repeats inside, alternates inside, start
    closed: list | None = None  # the group that ended just before this character
    unbounded = 0
    while i < n:
        c = pattern[i]
        before, closed = closed, None
        if c == "\\":
            if i + 1 >= n:
                raise _fail(pattern, "trailing backslash at end of expression")
            e = pattern[i + 1]
            if e in "dws":
                body = _CLASS[e]
                out.append(body if in_class else f"[{body}]")
                i += 2
                continue
            if e in "DWS":
                if in_class:
                    raise _fail(pattern, f"\\{e} inside a character class is not supported here")
                out.append(f"[^{_CLASS[e.lower()]}]")
                i += 2
                continue
            if e == "z" and not in_class:
                out.append("\\Z")
                i += 2
                continue
            if e == "Q":
                end = pattern.find("\\E", i + 2)
                text = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(text))
                i = n if end < 0 else end + 2
                continue
            if e == "x" and pattern.startswith("{", i + 2):
                end = pattern.find("}", i + 3)
                digits = pattern[i + 3 : end] if end > 0 else ""
                if not digits or any(ch not in "0123456789abcdefABCDEF" for ch in digits) or int(digits, 16) > 0x10FFFF:
                    raise _fail(pattern, f"invalid escape sequence: {pattern[i : end + 1 if end > 0 else n]}")
                out.append(f"\\U{int(digits, 16):08x}")
                i = end + 1
                continue
            if e in "pP":
                raise _fail(pattern, "Unicode classes (\\p, \\P) are not supported by Weir's regex engine")
            if e.isdigit() and e != "0":
                raise _fail(pattern, f"invalid escape sequence: \\{e} (back-references are not supported)")
            if e in "ZAbBfnrtv0x.+*?()|[]{}^$\\-/ ":
                out.append(pattern[i : i + 2])
                i += 2
                continue
            if e.isalnum():
                raise _fail(pattern, f"invalid escape sequence: \\{e}")
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end > 0:
                    name = pattern[i + 2 : end]
                    negated = name.startswith("^")
                    posix = _POSIX.get(name.lstrip("^"))
                    if posix is None:
                        raise _fail(pattern, f"invalid character class range: [:{name}:]")
                    if negated:
                        raise _fail(pattern, "negated POSIX classes are not supported here")
                    out.append(posix)
                    i = end + 2
                    continue
            if c == "[":
                out.append("\\[")  # literal in RE2; Python warns of nested sets
                i += 1
                continue
            if c == "]" and i > class_start:
                in_class = False
            elif c in "&~|-" and pattern.startswith(c * 2, i):
                out.append(f"\\{c}")  # Python reserves doubled set operators
                i += 1
                continue
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            if i < n and pattern[i] == "^":
                out.append("^")
                i += 1
            class_start = i
            if i < n and pattern[i] == "]":
                out.append("\\]")  # a leading ] is literal in both
                i += 1
            continue
        if c == "(":
            for prefix, what in _REFUSED:
                if pattern.startswith(prefix, i):
                    raise _fail(pattern, f"{what} are not supported (Prometheus uses RE2)")
            if pattern.startswith("(?", i):
                j = i + 2
                while j < n and pattern[j] not in ":)":
                    j += 1
                flags = pattern[i + 2 : j]
                if flags.startswith("P<"):
                    pass
                elif any(f not in "imsU-" for f in flags) or j >= n or (not flags and pattern[j] == ")"):
                    raise _fail(pattern, f"invalid or unsupported Perl syntax: (?{flags}")
                elif "U" in flags:
                    raise _fail(pattern, "the ungreedy flag (?U) is not supported here")
                elif pattern[j] == ")":
                    # RE2's `(?i)` holds to the end of the enclosing group; Python's `re` takes
                    # such flags only at the very start, so scope them: `(?i:` ... up to the
                    # next `|` or the group's end, reopened after each `|`.
                    out.append(f"(?{flags}:")
                    scopes[-1].append(flags)
                    i = j + 1
                    continue
            scopes.append([])
            groups.append([False, False, i])
            if pattern.startswith("(?", i):  # copy the group's prefix whole: its `?` is no repetition
                end = pattern.find(">", i) + 1 if pattern.startswith("(?P<", i) else pattern.find(":", i) + 1
                if end <= 0:
                    raise _fail(pattern, "missing argument to repetition operator: ?")
                out.append(pattern[i:end])
                i = end
                continue
        elif c == ")":
            out.append(")" * len(scopes[-1]) if scopes else "")
            if len(scopes) > 1:
                scopes.pop()
            if len(groups) > 1:
                closed = groups.pop()
                if closed[1] and not closed[0] and _distinct_literals(pattern[closed[2] + 1 : i]):
                    closed[1] = False  # like (GET|POST): repeating it cannot backtrack
                groups[-1][0] |= closed[0]
                groups[-1][1] |= closed[1]
        elif c == "|":
            groups[-1][1] = True
            out.append(")" * len(scopes[-1]))
            out.append("|")
            out.extend(f"(?{f}:" for f in scopes[-1])
            i += 1
            continue
        repeat = _repetition(pattern, i)
        if repeat is None and c == "{":
            out.append("\\{")  # RE2 reads a `{` that starts no repetition literally; Python may not
            i += 1
            continue
        if repeat is not None:
            most, length = repeat
            if before is not None and (before[0] or before[1]) and (most is None or most > 1):
                raise _fail(pattern, _BACKTRACKING + " (a repeated group that itself repeats or alternates)")
            groups[-1][0] = True
            if most is None:
                unbounded += 1
                if unbounded > MAX_UNBOUNDED:
                    raise _fail(pattern, _BACKTRACKING + f" (more than {MAX_UNBOUNDED} unbounded repetitions)")
            out.append(pattern[i : i + length])
            i += length
            if i < n and pattern[i] == "?":  # lazy
                out.append("?")
                i += 1
            if i < n and pattern[i] in "*+?{":
                raise _fail(pattern, f"invalid nested repetition operator: {pattern[i - length : i + 1]}")
            continue
        if c in "*+?}" and i + 1 < n and pattern[i + 1] == "+" and out and out[-1] not in "\\":
            out.append(c)
            raise _fail(pattern, f"invalid nested repetition operator: {c}+")
        out.append(c)
        i += 1
    if in_class:
        raise _fail(pattern, "missing closing ]")
    out.append(")" * len(scopes[-1]))
    return "".join(out)


@lru_cache(maxsize=1024)
def compile_anchored(pattern: str) -> re.Pattern[str]:
    """The compiled pattern; use `.fullmatch` (Prometheus anchors as `^(?:pattern)$`)."""
    py = translate(pattern)
    try:
        return re.compile(f"(?:{py})")
    except (re.error, OverflowError, RecursionError) as e:
        raise _fail(pattern, str(e)) from None
