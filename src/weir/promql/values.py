"""The evaluator's values: label sets, instant vectors over all steps at once, formatting.

An instant vector evaluated over n steps is a `Block`: one row per label set, a (rows × n)
array of values and a (rows × n) mask of where each row has a sample. Working a whole
block at a time lets numpy do per-step work for every step in one call; the semantics
stay Prometheus' per-step ones (a row absent at a step is simply not in that step's vector).

Label sets are tuples of (name, value) pairs sorted by name: hashable, and ordered as
Prometheus orders series (`labels.Compare`).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from weir.promql.errors import ExecutionError

Labels = tuple[tuple[str, str], ...]
NAME = "__name__"


def labels_of(d: dict[str, str]) -> Labels:
    return tuple(sorted((k, v) for k, v in d.items() if v != ""))


def drop_name(ls: Labels) -> Labels:
    return tuple(p for p in ls if p[0] != NAME)


def get(ls: Labels, name: str) -> str:
    for k, v in ls:
        if k == name:
            return v
    return ""


def with_label(ls: Labels, name: str, value: str) -> Labels:
    """The set with `name` set to value (or removed when value is "")."""
    rest = [p for p in ls if p[0] != name]
    if value != "":
        rest.append((name, value))
        rest.sort()
    return tuple(rest)


def keep_only(ls: Labels, names) -> Labels:
    return tuple(p for p in ls if p[0] in names)


def without(ls: Labels, names) -> Labels:
    return tuple(p for p in ls if p[0] not in names)


def labels_str(ls: Labels) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in ls)
    return "{" + inner + "}"


@dataclass(slots=True)
class Block:
    """An instant vector at every step: `labels[i]` is row i; `v`, `m` are (rows × steps)."""

    labels: list[Labels]
    v: np.ndarray
    m: np.ndarray

    @staticmethod
    def empty(n: int) -> Block:
        return Block([], np.empty((0, n)), np.zeros((0, n), dtype=bool))

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, rows) -> Block:
        rows = np.asarray(rows, dtype=np.intp)
        return Block([self.labels[i] for i in rows], self.v[rows], self.m[rows])

    def compact(self) -> Block:
        """Without the rows that have no sample at any step."""
        keep = self.m.any(axis=1)
        if keep.all():
            return self
        return self.take(np.flatnonzero(keep))

    def samples(self) -> int:
        return int(self.m.sum())


def merge_rows(block: Block, *, strict: bool = False) -> Block:
    """Rows with the same label set become one row.

    Prometheus builds each step's vector and refuses one holding a label set twice
    ("vector cannot contain metrics with the same labelset"); rows that never share a step
    join into one series. `strict` is the check Prometheus makes on a whole matrix (range
    functions, unary minus): the same label set twice is an error whenever both have samples.
    """
    block = block.compact()
    index: dict[Labels, list[int]] = {}
    for i, ls in enumerate(block.labels):
        index.setdefault(ls, []).append(i)
    if len(index) == len(block.labels):
        return block
    if strict:
        raise ExecutionError("vector cannot contain metrics with the same labelset")
    labels, vs, ms = [], [], []
    for ls, rows in index.items():
        if len(rows) == 1:
            labels.append(ls)
            vs.append(block.v[rows[0]])
            ms.append(block.m[rows[0]])
            continue
        m = block.m[rows]
        if (m.sum(axis=0) > 1).any():
            raise ExecutionError("vector cannot contain metrics with the same labelset")
        v = np.zeros(block.v.shape[1])
        for r in rows:
            v = np.where(block.m[r], block.v[r], v)
        labels.append(ls)
        vs.append(v)
        ms.append(m.any(axis=0))
    n = block.v.shape[1]
    return Block(labels, np.array(vs).reshape(len(labels), n), np.array(ms, dtype=bool).reshape(len(labels), n))


def sort_rows(block: Block) -> Block:
    order = sorted(range(len(block.labels)), key=block.labels.__getitem__)
    return block.take(order) if order != list(range(len(order))) else block


@dataclass(slots=True)
class Series:
    """Samples of one series (a range vector's element): `t` int64 ms ascending, `v` float64."""

    labels: Labels
    t: np.ndarray
    v: np.ndarray


# -- formatting, as Prometheus' JSON API writes values --------------------------------------


def format_value(x: float) -> str:
    """Go's `strconv.FormatFloat(x, 'f', -1, 64)`: shortest round-trip digits, never an exponent."""
    if x != x:
        return "NaN"
    if x == float("inf"):
        return "+Inf"
    if x == float("-inf"):
        return "-Inf"
    r = repr(x)
    if "e" in r:
        return format(Decimal(r), "f")
    if r.endswith(".0"):
        return r[:-2]
    return r


def format_values(values: np.ndarray) -> list[str]:
    """`format_value` of every element, fast: Python's `repr` is already the shortest
    round-trip form; only whole numbers (`1.0` → `1`), exponent forms and non-finite values
    need rewriting, and whole numbers go through `int` in bulk."""
    out = list(map(repr, values.tolist()))
    if not len(values):
        return out
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        special = (
            ~np.isfinite(values) | (size >= 1e16) | ((size < 1e-4) & (values != 0)) | np.signbit(values) & (values == 0)
        )
        whole = ~special & (values == np.trunc(values))
    for i in np.flatnonzero(special).tolist():
        out[i] = format_value(float(values[i]))
    idx = np.flatnonzero(whole)
    if len(idx):
        for i, s in zip(idx.tolist(), map(str, values[idx].astype(np.int64).tolist())):
            out[i] = s
    return out


def format_time(ms: int) -> float:
    """Timestamps are float seconds in the API (Prometheus writes at most 3 decimals)."""
    return ms / 1000.0


def in_milliseconds(block) -> tuple:
    """(lens, t, v) of a `SeriesArrays`: times floored to milliseconds and, of several
    points of a series in one millisecond, the latest kept; in a few numpy passes whatever
    the number of series (the block is the read's own: its times are floored in place)."""
    lens = block.lens
    t = np.floor_divide(block.ts, 1_000_000, out=block.ts)
    v = block.vals
    if len(t) > 1:
        last = np.empty(len(t), dtype=bool)  # the last point of its millisecond in its series
        np.not_equal(t[:-1], t[1:], out=last[:-1])
        last[-1] = True
        offsets = np.cumsum(lens) - lens
        last[offsets[1:] - 1] = True  # a series' last point, whatever the next series' first
        if not last.all():
            kept = np.zeros(len(t) + 1, dtype=np.int64)
            np.cumsum(last, out=kept[1:])
            lens = kept[offsets + lens] - kept[offsets]
            t, v = t[last], v[last]
    return lens, t, v
