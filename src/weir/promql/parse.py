"""The parser adapter: PromQL text → Weir's tree (`ast`), with Prometheus 2.42's grammar.

`promql-parser` (GreptimeDB's Rust parser) does the parsing and the type checks. This module
adds what it lacks: error positions (`1:14: parse error: ...`, as Prometheus words them; the
position is found with `lexer` and, failing that, by finding the shortest prefix that no
completion can repair), exact `@` timestamps (the binding rounds them through a datetime and
panics on negative ones), and refusal of what 2.42 does not have (functions added later,
`or` inside selectors, `fill()` modifiers).
"""

from __future__ import annotations

import math
from datetime import timedelta

import promql_parser as pp

from weir.promql import ast
from weir.promql.bounds import check_structure
from weir.promql.errors import BadDataError
from weir.promql.lexer import LexError, Token, at_timestamps, tokenize
from weir.promql.source import Matcher

MAX_QUERY_LENGTH = 64 * 1024

# What Prometheus 2.42 knows; the binding knows later ones too (refused as unknown here).
FUNCTIONS_242 = frozenset(
    "abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp "
    "clamp_max clamp_min cos cosh count_over_time days_in_month day_of_month day_of_week day_of_year "
    "deg delta deriv exp floor histogram_count histogram_sum histogram_fraction histogram_quantile "
    "holt_winters hour idelta increase irate label_replace label_join last_over_time ln log10 log2 "
    "max_over_time min_over_time minute month pi predict_linear present_over_time quantile_over_time "
    "rad rate resets round scalar sgn sin sinh sort sort_desc sqrt stddev_over_time stdvar_over_time "
    "sum_over_time tan tanh time timestamp vector year".split()
)
AGGREGATIONS_242 = frozenset("sum avg count min max group stddev stdvar topk bottomk quantile count_values".split())
# The binding's enums are not hashable: keyed by their `str()`.
_VT = {
    "ValueType.Scalar": ast.SCALAR,
    "ValueType.Vector": ast.VECTOR,
    "ValueType.Matrix": ast.MATRIX,
    "ValueType.String": ast.STRING,
}
_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
_CARD = {
    "VectorMatchCardinality.OneToOne": "one-to-one",
    "VectorMatchCardinality.ManyToOne": "many-to-one",
    "VectorMatchCardinality.OneToMany": "one-to-many",
    "VectorMatchCardinality.ManyToMany": "many-to-many",
}
_registered = False


def _register() -> None:
    global _registered
    if not _registered:
        vt = pp.ValueType
        try:
            pp.register_extra_functions([pp.Function("holt_winters", [vt.Matrix, vt.Scalar, vt.Scalar], vt.Vector)])
        except ValueError:
            pass  # already known (a newer binding, or registered by another import)
        _registered = True


def _ms(td: timedelta | None) -> int:
    if td is None:
        return 0
    return td // timedelta(milliseconds=1)


def _round_ms(seconds: float) -> int:
    """Go's `int64(math.Round(s * 1000))`: halves away from zero."""
    x = seconds * 1000.0
    return int(math.floor(x + 0.5)) if x >= 0 else -int(math.floor(-x + 0.5))


def position_message(text: str, pos: int, message: str) -> str:
    """`line:col: parse error: message`, col 1-based as Prometheus prints it."""
    pos = max(0, min(pos, len(text)))
    line = text.count("\n", 0, pos) + 1
    last_break = text.rfind("\n", 0, pos)
    return f"{line}:{pos - last_break}: parse error: {message}"


class ParseError(BadDataError):
    def __init__(self, text: str, pos: int, message: str) -> None:
        super().__init__(position_message(text, pos, message))
        self.position = pos
        self.reason = message


def _closers(tokens: list[Token]) -> str:
    stack = []
    for t in tokens:
        if t.kind in "([{":
            stack.append({"(": ")", "[": "]", "{": "}"}[t.kind])
        elif t.kind in ")]}" and stack:
            stack.pop()
    return "".join(reversed(stack))


_COMPLETIONS = ("", " x", ' "a"', " 1", "5m", "5m:", ' a="b"', '="x"', ")(x)", " 1)", " (x)", "a")


def _viable(prefix: str, tokens: list[Token]) -> bool:
    closers = _closers(tokens)
    for fill in _COMPLETIONS:
        for tail in ("", " (x)"):  # `sum by (a` needs its operand after the closing parenthesis
            try:
                pp.parse(prefix + fill + closers + tail)
                return True
            except Exception:  # noqa: S112  # nosec B112  # any refusal: try the next completion
                continue
    return False


def _locate(text: str, tokens: list[Token], message: str) -> int:
    """Where a parse error most likely is: the first token after which no completion parses."""
    if "end of input" in message or "unclosed" in message:
        return len(text)
    if not tokens or len(tokens) > 400:
        return 0
    lo, hi = 0, len(tokens)  # prefix of `lo` tokens is viable; of `hi` tokens is not (assumed)
    if not _viable(text[: tokens[-1].pos + len(tokens[-1].text)], tokens):
        while hi - lo > 1:
            mid = (lo + hi) // 2
            end = tokens[mid - 1].pos + len(tokens[mid - 1].text)
            if _viable(text[:end], tokens[:mid]):
                lo = mid
            else:
                hi = mid
        return tokens[hi - 1].pos
    return len(text)


_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"}
_BRACKETS = {
    "(": "left parenthesis",
    ")": "right parenthesis",
    "[": "left bracket",
    "]": "right bracket",
    "{": "left brace",
    "}": "right brace",
    ",": "comma",
    ":": "colon",
    "@": "@",
}


def _unexpected(tokens: list[Token], pos: int) -> str:
    """Prometheus' wording for the token at pos: `unexpected identifier "bar"`, `unexpected <op:*>`."""
    tok = next((t for t in tokens if t.pos == pos), None)
    if tok is None:
        return "unexpected end of input"
    if tok.kind == "ident":
        if tok.text.lower() in _KEYWORDS:
            return f"unexpected <{tok.text.lower()}>"
        return f'unexpected identifier "{tok.text}"'
    if tok.kind in ("number", "duration", "string"):
        return f"unexpected {tok.kind} {tok.text!s}" if tok.kind == "string" else f'unexpected {tok.kind} "{tok.text}"'
    if tok.kind == "op":
        return f"unexpected <op:{tok.text}>"
    return f'unexpected {_BRACKETS.get(tok.kind, tok.kind)} "{tok.text}"'


def _parse_raw(text: str) -> tuple[pp.Expr, list[Token]]:
    if len(text) > MAX_QUERY_LENGTH:
        raise BadDataError(f"query is {len(text)} characters long; at most {MAX_QUERY_LENGTH} are accepted")
    check_structure(text)  # deeper trees overflow the binding's stack: the whole process dies
    _register()
    try:
        tokens = tokenize(text)
    except LexError as e:
        raise ParseError(text, e.pos, e.message) from None
    if not tokens:
        raise ParseError(text, 0, "no expression found in input")
    try:
        return pp.parse(text), tokens
    except BaseException as e:  # the binding can raise pyo3's PanicException (a BaseException)
        if isinstance(e, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        message = str(e) or "invalid promql query"
        pos = _locate(text, tokens, message)
        if message == "invalid promql query":  # the binding's catch-all: say what was found there
            message = _unexpected(tokens, pos)
        raise ParseError(text, pos, message) from None


def parse(text: str) -> ast.Node:
    """The tree of a PromQL expression; BadDataError naming the position when it is invalid."""
    expr, tokens = _parse_raw(text)
    ats = at_timestamps(tokens)
    at_values: dict[int, float] = {}
    if ats:
        # Rewrite each `@ <number>` as `@ <k>` (k = 1, 2, ...) and parse again: the binding
        # hands back k, which indexes the exact value read here.
        pieces, last = [], 0
        for k, (index, value) in enumerate(ats, start=1):
            tok = tokens[index]
            start = tok.pos
            sign = tokens[index - 1]
            if sign.kind == "op" and sign.text in "+-":
                start = sign.pos
            pieces.append(text[last:start])
            pieces.append(str(k))
            last = tok.pos + len(tok.text)
            at_values[k] = value
        pieces.append(text[last:])
        try:
            expr = pp.parse("".join(pieces))
        except BaseException as e:
            if isinstance(e, KeyboardInterrupt | SystemExit | MemoryError):
                raise
            raise ParseError(text, 0, str(e)) from None
    return _Converter(text, at_values).convert(expr)


class _Converter:
    def __init__(self, text: str, at_values: dict[int, float]) -> None:
        self.text = text
        self.at_values = at_values

    def fail(self, message: str) -> ParseError:
        return ParseError(self.text, 0, message)

    def at(self, a) -> ast.At | None:
        if a is None:
            return None
        if a.type == pp.AtModifierType.Start:
            return ast.At("start")
        if a.type == pp.AtModifierType.End:
            return ast.At("end")
        k = round(a.at.timestamp())
        if k not in self.at_values:
            raise self.fail("could not read the @ timestamp")
        seconds = self.at_values[k]
        if not math.isfinite(seconds) or abs(seconds) >= 9.2e15:
            raise self.fail(f"timestamp out of bounds for @ modifier: {seconds:f}")
        return ast.At("time", _round_ms(seconds))

    def selector(self, e) -> ast.VectorSel:
        if e.matchers.or_matchers:
            raise self.fail("'or' inside a selector is not part of PromQL as of Prometheus 2.42")
        matchers = [Matcher(m.name, _OPS[str(m.op)], m.value) for m in e.matchers.matchers]
        if e.name is not None:
            matchers.append(Matcher("__name__", "=", e.name))
        return ast.VectorSel(matchers, _ms(e.offset), self.at(e.at), str(e))

    def convert(self, e) -> ast.Node:
        if isinstance(e, pp.NumberLiteral):
            return ast.NumberLit(float(e.val))
        if isinstance(e, pp.StringLiteral):
            return ast.StringLit(e.val)
        if isinstance(e, pp.VectorSelector):
            return self.selector(e)
        if isinstance(e, pp.MatrixSelector):
            return ast.MatrixSel(self.selector(e.vector_selector), _ms(e.range))
        if isinstance(e, pp.SubqueryExpr):
            step = _ms(e.step) if e.step else None
            return ast.Subquery(self.convert(e.expr), _ms(e.range), step, _ms(e.offset), self.at(e.at))
        if isinstance(e, pp.ParenExpr):
            return ast.Paren(self.convert(e.expr))
        if isinstance(e, pp.UnaryExpr):
            return ast.Unary(self.convert(e.expr))
        if isinstance(e, pp.Call):
            name = e.func.name
            if name not in FUNCTIONS_242:
                raise self.fail(f'unknown function with name "{name}"')
            args = [self.convert(a) for a in e.args]
            return ast.Call(name, args, _VT[str(e.func.return_type)])
        if isinstance(e, pp.AggregateExpr):
            op = str(e.op)
            if op not in AGGREGATIONS_242:
                raise self.fail(f'unknown function with name "{op}"')
            grouping, without = [], False
            if e.modifier is not None:
                grouping = list(e.modifier.labels)
                without = e.modifier.type == pp.AggModifierType.Without
            param = self.convert(e.param) if e.param is not None else None
            return ast.Aggregate(op, self.convert(e.expr), param, grouping, without)
        if isinstance(e, pp.BinaryExpr):
            return self.binary(e)
        raise self.fail(f"unsupported expression {type(e).__name__}")

    def binary(self, e) -> ast.Binary:
        op = str(e.op)
        node = ast.Binary(op, self.convert(e.lhs), self.convert(e.rhs))
        m = e.modifier
        if op in ("and", "or", "unless"):
            node.card = "many-to-many"
        if m is None:
            return node
        fill = m.fill_values
        if fill is not None and (fill.lhs is not None or fill.rhs is not None):
            raise self.fail("fill() modifiers are not part of PromQL as of Prometheus 2.42")
        node.return_bool = bool(m.return_bool)
        if node.type == ast.VECTOR or op in ("and", "or", "unless"):
            node.card = _CARD.get(str(m.card), "one-to-one") if op not in ("and", "or", "unless") else "many-to-many"
        if m.matching is not None:
            node.on = m.matching.type == pp.LabelModifierType.Include
            node.labels = list(m.matching.labels)
        if m.group_labels:
            node.include = list(m.group_labels)
        return node


def parse_selector(text: str) -> list[Matcher]:
    """The matchers of a series selector (the API's `match[]`); BadDataError for anything else."""
    node = parse(text)
    if not isinstance(node, ast.VectorSel):
        raise BadDataError(f'{text[:200]!r} is not a series selector (like up{{job="api"}})')
    if node.offset_ms or node.at is not None:
        raise BadDataError("a series selector takes no offset or @ modifier")
    return node.matchers
