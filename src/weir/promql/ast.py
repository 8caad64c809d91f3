"""Weir's own PromQL syntax tree: what the evaluator walks.

The parser adapter (`parse`) builds it from `promql-parser`'s tree, so the evaluator does not
depend on the binding's classes, and every time is already integer milliseconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from weir.promql.source import Matcher

# Value types, as Prometheus names them in its API (`resultType`).
SCALAR, VECTOR, MATRIX, STRING = "scalar", "vector", "matrix", "string"


@dataclass(slots=True)
class At:
    """An `@` modifier: a fixed time in ms, or the query's `start()`/`end()`."""

    kind: str  # "time", "start", "end"
    ms: int = 0


@dataclass(slots=True)
class Node:
    @property
    def type(self) -> str:
        raise NotImplementedError


@dataclass(slots=True)
class NumberLit(Node):
    val: float

    @property
    def type(self) -> str:
        return SCALAR


@dataclass(slots=True)
class StringLit(Node):
    val: str

    @property
    def type(self) -> str:
        return STRING


@dataclass(slots=True)
class VectorSel(Node):
    matchers: list[Matcher]
    offset_ms: int = 0
    at: At | None = None
    text: str = ""

    @property
    def type(self) -> str:
        return VECTOR


@dataclass(slots=True)
class MatrixSel(Node):
    sel: VectorSel
    range_ms: int

    @property
    def type(self) -> str:
        return MATRIX


@dataclass(slots=True)
class Subquery(Node):
    expr: Node
    range_ms: int
    step_ms: int | None
    offset_ms: int = 0
    at: At | None = None

    @property
    def type(self) -> str:
        return MATRIX


@dataclass(slots=True)
class Call(Node):
    name: str
    args: list[Node]
    return_type: str

    @property
    def type(self) -> str:
        return self.return_type


@dataclass(slots=True)
class Aggregate(Node):
    op: str
    expr: Node
    param: Node | None = None
    grouping: list[str] = field(default_factory=list)
    without: bool = False

    @property
    def type(self) -> str:
        return VECTOR


@dataclass(slots=True)
class Binary(Node):
    op: str
    lhs: Node
    rhs: Node
    card: str = "one-to-one"  # "one-to-one", "many-to-one", "one-to-many", "many-to-many"
    on: bool = False  # True: match on `labels`; False: ignoring `labels`
    labels: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)  # group_left/group_right labels
    return_bool: bool = False

    @property
    def type(self) -> str:
        return SCALAR if self.lhs.type == SCALAR and self.rhs.type == SCALAR else VECTOR


@dataclass(slots=True)
class Unary(Node):
    expr: Node  # always negation: unary plus is dropped by the parser

    @property
    def type(self) -> str:
        return self.expr.type


@dataclass(slots=True)
class Paren(Node):
    expr: Node

    @property
    def type(self) -> str:
        return self.expr.type
