"""SQL text with fixed fragments filled in: column lists, `?` marks, subqueries Weir writes,
and table names read from a store's own schema.

Values always travel as `?` parameters. Some statements still need text formatted in (an
`IN (?,?,...)` list as long as a batch, a column list kept in one constant, a table name
found in `sqlite_master` by the salvage code). `fill` checks every fragment, so the rule
"only fixed fragments, never a value" is enforced where it is applied rather than asserted
in a comment; names go through `ident`, which quotes them as SQLite identifiers whatever
they hold (a damaged file's schema may hold anything).

(Bandit's B608 flags SQL built with f-strings; its `nosec` then warns on every f-string of
more than one literal part, which is most of them. Filling through here needs neither.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What a fragment may hold: identifiers, `?` marks, commas, dots, parentheses, `*` and the
# comparison and arithmetic characters of the fixed subqueries. No quote, no semicolon, no
# comment marker: nothing that could end a literal or a statement.
_FRAGMENT = re.compile(r"[A-Za-z0-9_ ,.?()*<>=%+-]*")


class Ident(str):
    """Names already quoted as SQLite identifiers (see `ident`, `idents`)."""


def ident(name: str) -> Ident:
    """`name` as a quoted SQLite identifier: any text, with `"` doubled."""
    return Ident('"' + name.replace('"', '""') + '"')


def idents(names: Iterable[str]) -> Ident:
    """A column list: each name quoted, comma-separated."""
    return Ident(", ".join(ident(n) for n in names))


def marks(n: int) -> str:
    """`?,?,...,?`: n parameter marks for an IN list."""
    return ",".join("?" * n)


def fill(template: str, **fragments: str | int) -> str:
    """`template` with its `{name}` slots filled by fixed fragments (see the module's rule);
    a fragment that could carry a value or end the statement is a ValueError."""
    for key, value in fragments.items():
        if isinstance(value, Ident) or isinstance(value, int) and not isinstance(value, bool):
            continue
        if not isinstance(value, str) or "--" in value or not _FRAGMENT.fullmatch(value):
            raise ValueError(f"SQL fragment {key}={value!r} is not a fixed fragment (names go through ident())")
    return template.format(**fragments)
