"""The evaluator: walks the tree once for all steps of a query.

A node evaluates to a per-step scalar array, a string, a `Block` (an instant vector at every
step) or, for range-vector arguments, series of raw samples. `@` pins a selector or subquery
to one time (the query's start or end for `start()`/`end()`); a subquery evaluates its inner
expression at its own steps, aligned to multiples of its step as Prometheus aligns them.
"""

from __future__ import annotations

import time

import numpy as np

from weir.errors import TooManyPointsError
from weir.promql import aggregate, ast, binary, calls, functions, hourly, windows
from weir.promql.errors import BadDataError, ExecutionError, QueryTimeoutError
from weir.promql.source import SeriesSource
from weir.promql.values import Block, Labels, Series, drop_name, labels_of, merge_rows

DEFAULT_SUBQUERY_STEP_MS = 60_000  # Prometheus' default evaluation interval
WINDOWS_PER_CHUNK = 2_000_000

TOO_MANY = (
    "query processing would load too many samples into memory in query execution "
    "(more than {limit}); narrow the query: select fewer series with more label matchers, "
    "shorten the time range or the range selectors, or use a larger step"
)


def expect(value, kind: type):
    """`value`, checked to be of the kind the parser's type check promised."""
    if not isinstance(value, kind):
        raise ExecutionError(f"expected a {kind.__name__}, got {type(value).__name__} (an engine bug)")
    return value


class Budget:
    """Samples held for the query, against `max_samples`; and the deadline."""

    def __init__(self, max_samples: int, deadline: float | None) -> None:
        self.max_samples = max_samples
        self.deadline = deadline
        self.loaded = 0

    def load(self, samples: int) -> None:
        self.loaded += samples
        if self.loaded > self.max_samples:
            raise ExecutionError(TOO_MANY.format(limit=self.max_samples))

    def hold(self, samples: int) -> None:
        if self.loaded + samples > self.max_samples:
            raise ExecutionError(TOO_MANY.format(limit=self.max_samples))

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise QueryTimeoutError("query timed out in expression evaluation")


class Evaluator:
    def __init__(
        self,
        source: SeriesSource,
        steps: np.ndarray,
        *,
        query_start: int,
        query_end: int,
        lookback_ms: int,
        budget: Budget,
    ) -> None:
        self.source = source
        self.steps = steps
        self.n = len(steps)
        self.query_start = query_start
        self.query_end = query_end
        self.lookback_ms = lookback_ms
        self.budget = budget

    def child(self, steps: np.ndarray) -> Evaluator:
        return Evaluator(
            self.source,
            steps,
            query_start=self.query_start,
            query_end=self.query_end,
            lookback_ms=self.lookback_ms,
            budget=self.budget,
        )

    # -- helpers ----------------------------------------------------------------------------

    def at_ms(self, at: ast.At) -> int:
        if at.kind == "start":
            return self.query_start
        if at.kind == "end":
            return self.query_end
        return at.ms

    def ends(self, at: ast.At | None, offset_ms: int) -> np.ndarray:
        """Per step, the time a selector looks at (the step, or the `@` time), minus the offset."""
        if at is not None:
            return np.full(self.n, self.at_ms(at) - offset_ms, dtype=np.int64)
        return self.steps - offset_ms

    def read(self, sel: ast.VectorSel, start_ms: int, end_ms: int) -> tuple[list[Labels], windows.Batch]:
        """The selected series' label sets, sorted (Prometheus' order), and their samples
        as one batch, row i the series of `labels[i]`. A source that reads blocks
        (`read_block`: the store's) hands its arrays over as they are: no copy per series."""
        self.budget.check_time()
        read_block = getattr(self.source, "read_block", None)
        if read_block is not None:
            try:  # bounded in the read itself: refused before the samples are decoded
                block = read_block(sel.matchers, start_ms, end_ms, self.budget.max_samples - self.budget.loaded)
            except TooManyPointsError:
                raise ExecutionError(TOO_MANY.format(limit=self.budget.max_samples)) from None
            self.budget.load(len(block.t))
            lens = np.asarray(block.lens, dtype=np.int64)
            have = np.flatnonzero(lens).tolist()
            labels = [labels_of(block.labels[i]) for i in have]
            order = sorted(range(len(have)), key=labels.__getitem__)
            rows = np.array([have[i] for i in order], dtype=np.int64)
            starts = np.cumsum(lens) - lens
            batch = windows.Batch.views(
                np.asarray(block.t, dtype=np.int64), np.asarray(block.v, dtype=np.float64), starts[rows], lens[rows]
            )
            return [labels[i] for i in order], batch
        data = self.source.read(sel.matchers, start_ms, end_ms)
        self.budget.load(sum(len(d.t) for d in data))
        out = [
            Series(labels_of(d.labels), np.asarray(d.t, dtype=np.int64), np.asarray(d.v, dtype=np.float64))
            for d in data
        ]
        out.sort(key=lambda s: s.labels)
        return [s.labels for s in out], windows.Batch([s.t for s in out], [s.v for s in out])

    def scalar(self, node: ast.Node) -> np.ndarray:
        return expect(self.eval(node), np.ndarray)

    def block(self, node: ast.Node) -> Block:
        return expect(self.eval(node), Block)

    # -- evaluation ---------------------------------------------------------------------------

    def eval(self, node: ast.Node):
        self.budget.check_time()
        if isinstance(node, ast.NumberLit):
            return np.full(self.n, node.val)
        if isinstance(node, ast.StringLit):
            return node.val
        if isinstance(node, ast.Paren):
            return self.eval(node.expr)
        if isinstance(node, ast.VectorSel):
            return self.selector(node)[0]
        if isinstance(node, ast.Unary):
            value = self.eval(node.expr)
            if isinstance(value, Block):
                neg = Block([drop_name(ls) for ls in value.labels], -value.v, value.m)
                return merge_rows(neg, strict=True)
            return -value
        if isinstance(node, ast.Binary):
            return self.binary(node)
        if isinstance(node, ast.Aggregate):
            return self.aggregate(node)
        if isinstance(node, ast.Call):
            return calls.call(self, node)
        if isinstance(node, ast.MatrixSel | ast.Subquery):
            raise BadDataError("a range vector can only be a function's argument or an instant query's result")
        raise BadDataError(f"cannot evaluate {type(node).__name__}")

    def selector(self, node: ast.VectorSel) -> tuple[Block, np.ndarray]:
        """The instant vector at each step, and the timestamps of the samples it took."""
        refs = self.ends(node.at, node.offset_ms)
        first, last = int(refs.min()) - self.lookback_ms, int(refs.max())
        labels, batch = self.read(node, first, last)
        if not labels:
            return Block.empty(self.n), np.zeros((0, self.n), dtype=np.int64)
        self.budget.hold(len(labels) * self.n)  # held densely, series × steps
        idx, found = batch.at_or_before(refs)
        t, v = batch.t[idx], batch.v[idx]
        ok = found & (t >= refs[None, :] - self.lookback_ms)
        block = Block(labels, v, ok)
        keep = ok.any(axis=1)
        if not keep.all():
            rows = np.flatnonzero(keep)
            block, t = block.take(rows), t[rows]
        self.budget.hold(block.samples())
        return block, t

    def range_series(self, node: ast.Node) -> tuple[list[Labels], windows.Batch, np.ndarray, int]:
        """A range-vector argument: its series' label sets and samples (a batch, row by
        row), each step's window end, its range."""
        while isinstance(node, ast.Paren):
            node = node.expr
        if isinstance(node, ast.MatrixSel):
            ends = self.ends(node.sel.at, node.sel.offset_ms)
            labels, batch = self.read(node.sel, int(ends.min()) - node.range_ms, int(ends.max()))
            return labels, batch, ends, node.range_ms
        if isinstance(node, ast.Subquery):
            ends = self.ends(node.at, node.offset_ms)
            series = self.subquery(node, ends)
            batch = windows.Batch([s.t for s in series], [s.v for s in series])
            return [s.labels for s in series], batch, ends, node.range_ms
        raise BadDataError(f"expected a range vector, got {type(node).__name__}")

    def subquery(self, node: ast.Subquery, ends: np.ndarray) -> list[Series]:
        step = node.step_ms or DEFAULT_SUBQUERY_STEP_MS
        first = int(ends.min()) - node.range_ms
        start = step * int(first / step) if first >= 0 else -(step * int(-first / step))  # Go's truncation
        if start < first:
            start += step
        last = int(ends.max())
        if start > last:
            return []
        self.budget.hold((last - start) // step + 1)
        sub_steps = np.arange(start, last + 1, step, dtype=np.int64)
        self.budget.hold(len(sub_steps))
        inner = self.child(sub_steps).eval(node.expr)
        if isinstance(inner, np.ndarray):
            raise BadDataError("subquery is only allowed on instant vector")
        inner = expect(inner, Block)
        out = []
        for ls, v, m in zip(inner.labels, inner.v, inner.m):
            if m.any():
                out.append(Series(ls, sub_steps[m], v[m]))
        out.sort(key=lambda s: s.labels)
        return out

    def matrix(self, node: ast.Node) -> list[Series]:
        """A range vector as an instant query's result: the raw samples of each window."""
        labels, batch, ends, range_ms = self.range_series(node)
        end = int(ends[0])
        out = []
        for ls, t, v in zip(labels, batch.ts, batch.vs):
            keep = (t >= end - range_ms) & (t <= end)
            if keep.any():
                out.append(Series(ls, t[keep], v[keep]))
        return out

    def aggregate(self, node: ast.Aggregate) -> Block:
        param = None
        if node.param is not None:
            param = self.eval(node.param)
        block = self.block(node.expr)
        return aggregate.aggregate(node.op, block, node.grouping, node.without, param, self.n)

    def binary(self, node: ast.Binary):
        lhs = self.eval(node.lhs)
        rhs = self.eval(node.rhs)
        if isinstance(lhs, np.ndarray) and isinstance(rhs, np.ndarray):
            return binary.scalar_scalar(node.op, lhs, rhs)
        if isinstance(lhs, Block) and isinstance(rhs, np.ndarray):
            return merge_rows(binary.vector_scalar(node.op, lhs, rhs, False, node.return_bool))
        if isinstance(lhs, np.ndarray) and isinstance(rhs, Block):
            return merge_rows(binary.vector_scalar(node.op, rhs, lhs, True, node.return_bool))
        return binary.vector_vector(node, expect(lhs, Block), expect(rhs, Block), self.n)

    def range_function(self, node: ast.Call) -> Block:
        name = node.name
        index = windows.MATRIX_ARG.get(name, 0)
        args = [self.scalar(a) for i, a in enumerate(node.args) if i != index]
        try:  # whole hours: from hourly records where they answer as the points would
            hours = hourly.evaluate(self, name, node.args[index])
        except TooManyPointsError:
            raise ExecutionError(TOO_MANY.format(limit=self.budget.max_samples)) from None
        if hours is not None:
            series, values, oks = hours
        else:
            series, batch, ends, range_ms = self.range_series(node.args[index])
            values, oks = self._windows(windows.FUNCTIONS[name], batch, ends, range_ms, args)
        labels: list[Labels] = []
        vs, ms = [], []
        for ls, value, ok in zip(series, values, oks):
            if ok.any():
                labels.append(ls if name == "last_over_time" else drop_name(ls))
                vs.append(value)
                ms.append(ok)
        if name == "absent_over_time":
            present = np.asarray(np.array(ms, dtype=bool).any(axis=0) if ms else np.zeros(self.n, dtype=bool))
            arg = node.args[0]
            while isinstance(arg, ast.Paren):
                arg = arg.expr
            absent_labels = functions.absent_labels(arg.sel.matchers) if isinstance(arg, ast.MatrixSel) else ()
            return Block([absent_labels], np.ones((1, self.n)), (~present)[None, :]).compact()
        if not labels:
            return Block.empty(self.n)
        block = Block(labels, np.array(vs), np.array(ms, dtype=bool))
        self.budget.hold(block.samples())
        return merge_rows(block, strict=True)

    def _windows(self, fn, series: windows.Batch, ends: np.ndarray, range_ms: int, args: list[np.ndarray]):
        """`fn` over every (series, step) window: (series × steps) values and presence.

        Series go in chunks of about `WINDOWS_PER_CHUNK` windows, so the index arrays stay
        small however many series and steps there are.
        """
        self.budget.hold(len(series) * self.n)  # the answer is held densely, series × steps
        values = np.zeros((len(series), self.n))
        oks = np.zeros((len(series), self.n), dtype=bool)
        size = max(1, WINDOWS_PER_CHUNK // self.n)
        for first in range(0, len(series), size):
            self.budget.check_time()
            batch = series.rows(first, first + size)
            k = len(batch)
            lo, hi = batch.bounds(ends, range_ms)
            value, ok = fn(
                batch.t,
                batch.v,
                lo.ravel(),
                hi.ravel(),
                ends=np.tile(ends, k),
                range_ms=range_ms,
                steps=np.tile(self.steps, k),
                args=[np.tile(a, k) for a in args],
                check=self.budget.check_time,
            )
            values[first : first + k] = value.reshape(k, self.n)
            oks[first : first + k] = ok.reshape(k, self.n)
        return values, oks
