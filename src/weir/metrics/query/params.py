"""The query API's parameters: one value each, statistics, group keys, dimension filters
(`=`, `!=`, `=~`, `!~`), and a listing's limit and cursor. Pure parsing, 400s that name
the parameter."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping

from weir.errors import InvalidInputError
from weir.metrics.aggregate import STATS
from weir.metrics.series import check_dimensions

DIM_PREFIX = "dim."
MAX_GROUP_KEYS = 10
MAX_REGEX_LENGTH = 256
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 1_000, 10_000
# a quantified group that itself holds a quantifier: (a+)+, (a|b*)*, (x{2,}){3,} ...
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[*+}](?:[^()\\]|\\.)*\)(?:[*+]|\{\d+,)")


def single(params: Mapping) -> dict[str, str]:
    """One value per parameter: a parameter given twice is a 400, not silently the last."""
    out = {}
    for k, v in params.items():
        if isinstance(v, list | tuple):
            if len(v) != 1:
                raise InvalidInputError(f"{k}: given {len(v)} times; give each query parameter once")
            v = v[0]
        out[k] = v
    return out


def parse_stats(text: str) -> list[str]:
    stats = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stats if s not in STATS]
    if unknown or not stats:
        raise InvalidInputError(
            f"stat: unknown statistic {', '.join(map(repr, unknown)) or '(none)'}; "
            f"choose from {','.join(STATS)}"
        )
    return list(dict.fromkeys(stats))


def parse_group_by(text: str) -> list[str]:
    keys = list(dict.fromkeys(k.strip() for k in text.split(",") if k.strip()))
    if len(keys) > MAX_GROUP_KEYS:
        raise InvalidInputError(f"group_by: {len(keys)} keys; at most {MAX_GROUP_KEYS}")
    check_dimensions({k: "x" for k in keys})
    return keys


class Filter:
    """`dim.host=a` (equals), `dim.host!=a`, `dim.host=~web-.*`, `dim.host!~web-.*`.

    The query string splits at the first `=`, so `dim.host!=a` arrives as (`dim.host!`, `a`)
    and `dim.host=~re` as (`dim.host`, `~re`). Regexes match the whole value (as in
    PromQL); to match a value that starts with `~`, use a regex (`dim.k=~~x`). A missing
    dimension matches as the empty string (`dim.k=~.*` matches series without it).
    Equality filters select through the store's index; the others apply to what they select.
    """

    __slots__ = ("key", "value", "negate", "regex")

    def __init__(self, key: str, value: str, negate: bool, regex: re.Pattern | None) -> None:
        self.key, self.value, self.negate, self.regex = key, value, negate, regex

    @property
    def indexed(self) -> bool:
        return self.regex is None and not self.negate

    def matches(self, dims: dict[str, str]) -> bool:
        if self.regex is not None:
            hit = self.regex.fullmatch(dims.get(self.key, "")) is not None
        else:
            hit = dims.get(self.key) == self.value
        return hit != self.negate


def dimension_filters(params: Mapping[str, str], allowed: set[str]) -> list[Filter]:
    """`dim.<key>` parameters as filters; any other unknown parameter is an error, not ignored."""
    filters = []
    for k, v in params.items():
        if not k.startswith(DIM_PREFIX):
            if k not in allowed:
                known = ", ".join(sorted(allowed | {"dim.<key>"}))
                raise InvalidInputError(f"{k}: unknown query parameter; known: {known}")
            continue
        key = k[len(DIM_PREFIX):]
        negate = key.endswith("!")
        key = key.removesuffix("!")
        regex = None
        if v.startswith("~"):
            regex = _compile(k, v[1:])
        else:
            check_dimensions({key: v})
        check_dimensions({key: "x"})
        filters.append(Filter(key, v, negate, regex))
    return filters


def _compile(param: str, pattern: str) -> re.Pattern:
    if len(pattern) > MAX_REGEX_LENGTH:
        raise InvalidInputError(f"{param}: the regex is {len(pattern)} characters; at most {MAX_REGEX_LENGTH}")
    if _NESTED_QUANTIFIER.search(pattern):
        raise InvalidInputError(f"{param}: nested quantifiers such as (a+)+ are refused (they can take "
                                "exponential time); rewrite the regex without them")
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise InvalidInputError(f"{param}: not a valid regex: {exc}") from None


def list_limit(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_LIST_LIMIT
    if not (text.isascii() and text.isdigit() and len(text) < 10) or not 1 <= int(text) <= MAX_LIST_LIMIT:
        raise InvalidInputError(f"limit: a whole number from 1 to {MAX_LIST_LIMIT}, got {text[:40]!r}")
    return int(text)


def encode_cursor(key: str) -> str:
    """A listing's cursor: the last key of the page, base64url (opaque to clients)."""
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        raise InvalidInputError("cursor: not one this API returned; repeat the request without it") from None
