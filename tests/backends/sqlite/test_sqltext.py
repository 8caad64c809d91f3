"""Fixed fragments only: what `fill` lets into SQL text, what it refuses, and names quoted so
that a table name read from a damaged schema cannot change the statement."""

from __future__ import annotations

import sqlite3

import pytest

from weir.backends.sqlite.sqltext import fill, ident, idents, marks


def test_fixed_fragments_are_filled():
    assert fill("SELECT {cols} FROM series WHERE id IN ({marks})", cols="id, name", marks=marks(3)) == \
        "SELECT id, name FROM series WHERE id IN (?,?,?)"
    assert fill("SELECT x FROM t WHERE id IN {ids}", ids="(SELECT value FROM json_each(?))").endswith("json_each(?))")
    assert fill("SELECT t_min - (t_min % {h}) FROM chunks", h=3_600_000_000_000) == \
        "SELECT t_min - (t_min % 3600000000000) FROM chunks"


@pytest.mark.parametrize("fragment", ["'x'", "1; DROP TABLE series", "id -- comment", '"name"', "a\nb", "x/*"])
def test_a_fragment_that_could_carry_a_value_or_end_the_statement_is_refused(fragment):
    with pytest.raises(ValueError, match="not a fixed fragment"):
        fill("SELECT {cols} FROM series", cols=fragment)


def test_names_are_quoted_whatever_they_hold():
    conn = sqlite3.connect(":memory:")
    odd = 'we"ird; DROP TABLE keep --'
    conn.execute("CREATE TABLE keep (a)")
    conn.execute(fill("CREATE TABLE {t} ({c})", t=ident(odd), c=idents(['co"l', "b"])))
    conn.execute(fill("INSERT INTO {t} ({c}) VALUES ({m})", t=ident(odd), c=idents(['co"l', "b"]), m=marks(2)), (1, 2))
    assert conn.execute(fill("SELECT {c} FROM {t}", c=idents(['co"l', "b"]), t=ident(odd))).fetchall() == [(1, 2)]
    assert {r[0] for r in conn.execute("SELECT name FROM sqlite_master")} == {"keep", odd}
