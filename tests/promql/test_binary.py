"""Binary operators between vectors and scalars, with vector matching and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from weir.promql import ast
from weir.promql.binary import vector_scalar, vector_vector
from weir.promql.errors import ExecutionError
from weir.promql.values import Block, labels_of


def _block(rows, values):
    v = np.array(values, dtype=float)
    return Block([labels_of(r) for r in rows], v, np.ones_like(v, dtype=bool))


def _rows(block):
    return {tuple(sorted(dict(ls).items())): v[0] for ls, v, m in zip(block.labels, block.v, block.m) if m[0]}


def test_comparison_filters_and_keeps_the_name_bool_drops_it():
    b = _block([{"__name__": "x", "a": "1"}, {"__name__": "x", "a": "2"}], [[1], [5]])
    assert _rows(vector_scalar(">", b, np.array([2.0]), False, False)) == {(("__name__", "x"), ("a", "2")): 5}
    assert _rows(vector_scalar(">", b, np.array([2.0]), False, True)) == {(("a", "1"),): 0, (("a", "2"),): 1}
    # scalar on the left: the value kept is the vector's
    assert _rows(vector_scalar("<", b, np.array([2.0]), True, False)) == {(("__name__", "x"), ("a", "2")): 5}


def test_one_to_one_on_labels():
    lhs = _block([{"__name__": "a", "h": "1", "r": "x"}], [[10]])
    rhs = _block([{"__name__": "b", "h": "1"}], [[4]])
    out = vector_vector(ast.Binary("/", None, None, on=True, labels=["h"]), lhs, rhs, 1)
    assert _rows(out) == {(("h", "1"),): 2.5}


def test_group_left_copies_included_labels_from_the_one_side():
    lhs = _block([{"__name__": "a", "h": "1", "i": "p"}, {"__name__": "a", "h": "1", "i": "q"}], [[1], [2]])
    rhs = _block([{"__name__": "b", "h": "1", "zone": "z"}], [[10]])
    node = ast.Binary("*", None, None, card="many-to-one", on=True, labels=["h"], include=["zone"])
    assert _rows(vector_vector(node, lhs, rhs, 1)) == {
        (("h", "1"), ("i", "p"), ("zone", "z")): 10,
        (("h", "1"), ("i", "q"), ("zone", "z")): 20,
    }


def test_matching_errors():
    many = _block([{"h": "1", "i": "p"}, {"h": "1", "i": "q"}], [[1], [2]])
    one = _block([{"h": "1"}], [[1]])
    with pytest.raises(ExecutionError, match="many-to-many matching not allowed"):
        vector_vector(ast.Binary("+", None, None, on=True, labels=["h"]), one, many, 1)
    with pytest.raises(ExecutionError, match="many-to-one matching must be explicit"):
        vector_vector(ast.Binary("+", None, None, on=True, labels=["h"]), many, one, 1)


def test_set_operators():
    lhs = _block([{"__name__": "a", "h": "1"}, {"__name__": "a", "h": "2"}], [[1], [2]])
    rhs = _block([{"__name__": "b", "h": "2"}, {"__name__": "b", "h": "3"}], [[5], [6]])

    def run(op):
        return sorted(
            dict(ls)["h"] + dict(ls)["__name__"]
            for ls in vector_vector(ast.Binary(op, None, None, card="many-to-many"), lhs, rhs, 1).labels
        )

    assert run("and") == ["2a"]
    assert run("unless") == ["1a"]
    assert run("or") == ["1a", "2a", "3b"]
